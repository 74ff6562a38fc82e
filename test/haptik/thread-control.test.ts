import { BridgeError } from '../../bridge/src/core/errors';
import type { TractListener } from '../../bridge/src/haptik/haptik-client';
import { createThreadControlDirectory, receiversFromListeners } from '../../bridge/src/haptik/thread-control';
import { silentLogger } from '../../bridge/src/observability/logger';
import { ManualClock } from '../support/test-clock-and-log';

/** The bridge's and the bot's TRACT receiver ids, from the listeners, cached, with the mapping file as fallback. */
const CONFIGURED = { requester: 'ect', receiver: 'iva' };
const listener = (id: string, flags: Partial<TractListener> = {}): TractListener => ({
    id,
    isDefault: false,
    isPrimary: false,
    active: false,
    ...flags
});
const IVA = listener('haptik_iva', { isDefault: true, isPrimary: true });
const SAC = listener('sac', { isPrimary: true });

describe('TRACT thread-control receivers', () => {
    it('takes the one non-primary listener as the bridge and the default one as the bot', () => {
        expect(receiversFromListeners([IVA, SAC, listener('ect_sf_bridge')], CONFIGURED)).toEqual({
            self: 'ect_sf_bridge',
            bot: 'haptik_iva'
        });
        // Several external tools: the mapping file says which one is the bridge.
        expect(receiversFromListeners([IVA, listener('other_tool'), listener('ect')], CONFIGURED)).toEqual({
            self: 'ect',
            bot: 'haptik_iva'
        });
        expect(receiversFromListeners([IVA, listener('a'), listener('b')], CONFIGURED).self).toBeUndefined();
    });

    it('asks the listeners once per TTL for every caller, and stands in the mapping file while they fail', async () => {
        const clock = new ManualClock();
        let calls = 0;
        let failing = false;
        const directory = createThreadControlDirectory({
            haptik: {
                listeners: () => {
                    calls += 1;
                    if (failing) return Promise.reject(new BridgeError('bridge_haptik_unavailable', 'down'));
                    return Promise.resolve([IVA, SAC, listener('ect_sf_bridge')]);
                }
            },
            configured: CONFIGURED,
            clock,
            logger: silentLogger(),
            ttlMs: 60_000,
            failureTtlMs: 5_000
        });

        const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => directory.receivers(`u-${i}`)));
        expect(calls).toBe(1);
        expect(new Set(answers.map((a) => `${a.self}/${a.bot}/${a.from}`))).toEqual(
            new Set(['ect_sf_bridge/haptik_iva/listeners'])
        );

        clock.advance(61_000);
        failing = true;
        expect(await directory.receivers('u-1')).toEqual({ self: 'ect', bot: 'iva', from: 'settings' });
        expect(await directory.receivers('u-2')).toEqual({ self: 'ect', bot: 'iva', from: 'settings' });
        expect(calls).toBe(2);

        clock.advance(6_000);
        failing = false;
        expect((await directory.receivers('u-3')).self).toBe('ect_sf_bridge');
        expect(calls).toBe(3);
    });
});
