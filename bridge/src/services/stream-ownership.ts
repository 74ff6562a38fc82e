import { randomUUID } from 'node:crypto';
import { asBridgeError } from '../core/errors';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import type { Db, Queryable } from '../store/db';
import type { HandoverSession } from '../store/handover-sessions';
import {
    claimFreeStreams,
    claimStreamForOpen,
    forgetOtherInstances,
    listOwnedStreams,
    releaseInstance,
    renewInstance
} from '../store/stream-leases';

/**
 * Makes each open chat's Salesforce event stream (SSE or long poll) run in exactly one bridge
 * instance (issue 10). This instance renews its heartbeat every tick, takes over the streams of
 * instances whose heartbeat ran out or that shut down, and drops the streams it finds it no longer
 * holds. The handover service asks `holds` for every chat event, on the row it has locked, so an
 * instance that was paused while another took its chat over acts on nothing when it wakes up.
 */
export interface StreamOwnership {
    readonly instanceId: string;
    /** Inside the chat.open transaction: this instance will read the new chat's stream. */
    claimForOpen(tx: Queryable, handoverId: string): Promise<void>;
    /** Whether this instance still holds the stream of the (locked) session it is about to act on. */
    holds(session: HandoverSession): boolean;
    /** The handover ended or its stream was stopped here. */
    forget(handoverId: string): void;
    /** Registers the heartbeat, takes free streams and keeps doing both every tick. */
    start(hooks: StreamHooks): Promise<void>;
    /** Stops the ticks and gives this instance's streams back (call after the streams are stopped). */
    stop(): Promise<void>;
    /** One tick now (tests, and a faster hand-over when an instance is known to have left). */
    tick(): Promise<void>;
    /** Streams this instance holds now. */
    held(): number;
}

export interface StreamHooks {
    /** Start reading the stream of a chat this instance just took over, from its stored cursor. */
    resume(handoverId: string): Promise<void>;
    /** Stop reading a stream another instance took over (without ending the chat). */
    detach(handoverId: string): void;
}

export interface StreamOwnershipOptions {
    db: Db;
    logger: Logger;
    metrics?: Pick<Metrics, 'chatStreams' | 'chatStreamTakeovers'> | undefined;
    /** Default: a random id per process (a restarted process is a new instance). */
    instanceId?: string | undefined;
    /** How long a heartbeat holds; another instance takes the streams over after it (default 10 s). */
    leaseMs?: number | undefined;
    /** How often the heartbeat is renewed and free streams are looked for (default a fifth of the lease). */
    tickMs?: number | undefined;
    /** Streams taken over per tick, to spread a dead instance's chats over the survivors (default 200). */
    claimBatch?: number | undefined;
    /**
     * No other live instance can share this database (default: true for the embedded one, which one
     * process at a time opens), so the chats of earlier runs are taken at once, not after their lease.
     */
    exclusiveDatabase?: boolean | undefined;
}

export function createStreamOwnership(options: StreamOwnershipOptions): StreamOwnership {
    const { db } = options;
    const instanceId = options.instanceId ?? randomUUID();
    const leaseMs = options.leaseMs ?? 10_000;
    const tickMs = options.tickMs ?? Math.max(100, Math.floor(leaseMs / 5));
    const claimBatch = options.claimBatch ?? 200;
    const logger = options.logger.child({ component: 'stream-ownership', instanceId });
    /** handover id → the epoch this instance claimed it at. */
    const epochs = new Map<string, number>();
    const gauge = (): void => options.metrics?.chatStreams.set(epochs.size);
    let hooks: StreamHooks | undefined;
    let timer: NodeJS.Timeout | undefined;
    let ticking: Promise<void> | undefined;
    let stopped = false;

    async function takeOver(): Promise<void> {
        for (;;) {
            const claimed = await claimFreeStreams(db, instanceId, claimBatch);
            options.metrics?.chatStreamTakeovers.inc(claimed.length);
            for (const { id, epoch } of claimed) {
                epochs.set(id, epoch);
                gauge();
                try {
                    await hooks?.resume(id);
                } catch (error) {
                    // The claim stays; the chat events will find the stream missing only until the next
                    // restart, so say loudly which chat it is.
                    logger.error(
                        { handoverId: id, code: asBridgeError(error, 'bridge_handover_resume_failed').code },
                        'taken-over chat stream could not be resumed'
                    );
                }
            }
            if (claimed.length > 0) logger.info({ streams: claimed.length }, 'chat streams taken over');
            if (claimed.length < claimBatch || stopped) return;
        }
    }

    /** After a lapsed heartbeat some streams may have gone to other instances: stop reading those. */
    async function dropLost(): Promise<void> {
        const owned = new Map((await listOwnedStreams(db, instanceId)).map((s) => [s.id, s.epoch]));
        for (const [id, epoch] of [...epochs]) {
            if (owned.get(id) === epoch) continue;
            epochs.delete(id);
            gauge();
            hooks?.detach(id);
            logger.warn({ handoverId: id }, 'chat stream was taken over by another instance; stopped here');
        }
    }

    async function runTick(): Promise<void> {
        const { lapsed } = await renewInstance(db, instanceId, leaseMs);
        if (lapsed && epochs.size > 0) {
            logger.warn({ held: epochs.size }, 'heartbeat had run out; checking which chat streams are still ours');
            await dropLost();
        }
        if (!stopped) await takeOver();
    }

    function tick(): Promise<void> {
        ticking ??= runTick()
            .catch((error: unknown) => {
                logger.error(
                    { code: asBridgeError(error, 'bridge_store_stream_lease').code, err: error },
                    'stream heartbeat failed; retrying at the next tick'
                );
            })
            .finally(() => {
                ticking = undefined;
            });
        return ticking;
    }

    function schedule(): void {
        if (stopped) return;
        timer = setTimeout(() => {
            void tick().then(schedule);
        }, tickMs);
        timer.unref();
    }

    return {
        instanceId,

        async claimForOpen(tx, handoverId) {
            epochs.set(handoverId, await claimStreamForOpen(tx, handoverId, instanceId));
            gauge();
        },

        holds(session) {
            return session.streamOwner === instanceId && epochs.get(session.id) === session.streamEpoch;
        },

        forget(handoverId) {
            epochs.delete(handoverId);
            gauge();
        },

        async start(next) {
            hooks = next;
            await renewInstance(db, instanceId, leaseMs);
            if (options.exclusiveDatabase ?? db.kind === 'pglite') await forgetOtherInstances(db, instanceId);
            logger.info({ leaseMs, tickMs }, 'stream heartbeat started');
            // Taking over may mean reconnecting thousands of chats: the first look runs in the background.
            void tick().then(schedule);
        },

        async stop() {
            stopped = true;
            if (timer) clearTimeout(timer);
            await ticking;
            const released = await releaseInstance(db, instanceId);
            epochs.clear();
            gauge();
            logger.info({ released }, 'chat streams handed back');
        },

        tick,

        held: () => epochs.size
    };
}
