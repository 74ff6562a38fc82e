import { asBridgeError } from '../core/errors';
import type { Logger } from '../observability/logger';
import type { HaptikClient, TractListener } from './haptik-client';

/**
 * Who is who in TRACT thread control (docs/external-chat-tool/thread-control.md): the bridge's own
 * receiver id (what a Code node's `callback_ops.tract_atc.receiver` names to give the bridge the chat, and
 * the `requester` when it passes control back) and the bot's (the `receiver` of that pass).
 *
 * They come from `/tract/thread_control/listeners/`: only the IVA and Smart Agent Chat are primary
 * receivers, so a listener that is not primary is an external chat tool; with one ECT that is the bridge,
 * with several the one named by the mapping file's `handover.threadControl.requester`. The bot is the
 * listener named `handover.threadControl.receiver`, else the default receiver. The ids do not change
 * while an installation runs, so the answer is kept for `ttlMs` (one listeners call per instance and
 * TTL, single flight); when the listeners cannot be read or do not tell, the mapping file's ids are used.
 */
export interface ThreadReceivers {
    /** The bridge's receiver id. */
    self: string;
    /** The bot's receiver id (where control goes back). */
    bot: string;
    from: 'listeners' | 'settings';
}

export interface ThreadControlDirectory {
    receivers(userId: string): Promise<ThreadReceivers>;
}

export interface ThreadControlDirectoryOptions {
    haptik: Pick<HaptikClient, 'listeners'>;
    /** The mapping file's `handover.threadControl`: the bridge's (`requester`) and the bot's (`receiver`) ids. */
    configured: { requester: string; receiver: string };
    clock: { now(): Date };
    logger: Logger;
    /** How long a listeners answer is kept; default 10 minutes. */
    ttlMs?: number;
    /** How long the mapping file's ids stand in after a failed listeners call; default 30 s. */
    failureTtlMs?: number;
}

/** The bridge and the bot among the listeners; undefined parts are not told by them. */
export function receiversFromListeners(
    listeners: readonly TractListener[],
    configured: { requester: string; receiver: string }
): { self: string | undefined; bot: string | undefined } {
    const tools = listeners.filter((l) => !l.isPrimary);
    const self = tools.length === 1 ? tools[0]!.id : tools.find((l) => l.id === configured.requester)?.id;
    const bot =
        listeners.find((l) => l.id === configured.receiver && l.id !== self)?.id ??
        listeners.find((l) => l.isDefault && l.id !== self)?.id;
    return { self, bot };
}

export function createThreadControlDirectory(options: ThreadControlDirectoryOptions): ThreadControlDirectory {
    const { haptik, configured, clock } = options;
    const logger = options.logger.child({ component: 'thread-control' });
    const ttlMs = options.ttlMs ?? 10 * 60_000;
    const failureTtlMs = options.failureTtlMs ?? 30_000;
    let cached: { value: ThreadReceivers; until: number } | undefined;
    let pending: Promise<ThreadReceivers> | undefined;

    async function lookup(userId: string): Promise<ThreadReceivers> {
        const fallback: ThreadReceivers = { self: configured.requester, bot: configured.receiver, from: 'settings' };
        try {
            const found = receiversFromListeners(await haptik.listeners(userId), configured);
            if (found.self === undefined) {
                logger.warn(
                    { configured: configured.requester },
                    'TRACT listeners do not tell which receiver is the bridge; using handover.threadControl.requester'
                );
            }
            const value: ThreadReceivers = {
                self: found.self ?? configured.requester,
                bot: found.bot ?? configured.receiver,
                from: found.self === undefined ? 'settings' : 'listeners'
            };
            cached = { value, until: clock.now().getTime() + ttlMs };
            return value;
        } catch (error) {
            logger.warn(
                { code: asBridgeError(error, 'bridge_haptik_unavailable').code },
                'TRACT listeners could not be read; using handover.threadControl'
            );
            cached = { value: fallback, until: clock.now().getTime() + failureTtlMs };
            return fallback;
        }
    }

    return {
        receivers(userId) {
            if (cached !== undefined && clock.now().getTime() < cached.until) return Promise.resolve(cached.value);
            pending ??= lookup(userId).finally(() => {
                pending = undefined;
            });
            return pending;
        }
    };
}
