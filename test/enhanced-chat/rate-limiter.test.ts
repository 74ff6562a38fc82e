/** The queuing window limiter and the derived chat ids. */
import { createWindowLimiter, isUuid, toChatUuid, uuidFromKey } from '../../bridge/src/salesforce/enhanced-chat';

describe('createWindowLimiter', () => {
    it('lets at most `limit` through in any window and serves waiters in order', async () => {
        const limiter = createWindowLimiter(2, 100);
        const order: number[] = [];
        const times: number[] = [];
        await Promise.all(
            [0, 1, 2, 3, 4].map((i) =>
                limiter.acquire().then(() => {
                    order.push(i);
                    times.push(Date.now());
                })
            )
        );
        expect(order).toEqual([0, 1, 2, 3, 4]);
        // Spacing of the window, read in the callbacks (which may run a few ms after the limiter let them go).
        for (let i = 2; i < times.length; i++) expect(times[i]! - times[i - 2]!).toBeGreaterThanOrEqual(90);
        expect(limiter.inWindow).toBeLessThanOrEqual(2);
    });

    it('drops a waiter whose signal aborts and keeps serving the others', async () => {
        const limiter = createWindowLimiter(1, 80);
        await limiter.acquire();
        const controller = new AbortController();
        const aborted = limiter.acquire(controller.signal);
        const next = limiter.acquire();
        controller.abort(new Error('gave up'));
        await expect(aborted).rejects.toThrow('gave up');
        await expect(next).resolves.toBeUndefined();
    });

    it('rejects a limit that is not a positive integer', () => {
        expect(() => createWindowLimiter(0, 100)).toThrow(RangeError);
    });
});

describe('chat ids', () => {
    it('keeps UUIDs (lower-cased) and derives stable version-5 UUIDs from other keys', () => {
        expect(toChatUuid('message', 'A0B1C2D3-E4F5-4A6B-8C7D-9E0F1A2B3C4D')).toBe(
            'a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d'
        );
        const derived = toChatUuid('message', 'haptik-msg-42');
        expect(derived).toBe(uuidFromKey('message', 'haptik-msg-42'));
        expect(isUuid(derived)).toBe(true);
        expect(derived[14]).toBe('5');
        expect(['8', '9', 'a', 'b']).toContain(derived[19]);
        expect(toChatUuid('conversation', 'haptik-msg-42')).not.toBe(derived);
    });
});
