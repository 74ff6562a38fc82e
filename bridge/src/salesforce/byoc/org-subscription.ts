/**
 * The org's one BYOC subscription (issue 19): one bridge instance at a time holds it through a lease in the
 * database (byoc_subscriptions, modelled on the per-chat stream leases of services/stream-ownership.ts), reads
 * the platform event over the Pub/Sub API and writes each event to byoc_events together with its replay id, in
 * one transaction fenced by the lease's epoch. So:
 * - a restart, a SIGKILL or a takeover resumes after the last event written: nothing lost, nothing written
 *   twice (a redelivered replay id is ignored);
 * - SIGTERM (stop) hands the lease back, and another instance takes it at its next tick;
 * - a burst cannot flood the process: `batch` events are asked for (numRequested), and the next batch only
 *   once those are written.
 * Which chat an event belongs to, and which instance acts on it, is the per-chat stream's business
 * (byoc-adapter.ts reads byoc_events for the chats it holds).
 */
import { asBridgeError } from '../../core/errors';
import type { Logger } from '../../observability/logger';
import type { Db } from '../../store/db';
import {
    claimSubscription,
    markReading,
    pruneEvents,
    releaseSubscription,
    renewSubscription,
    storeEvents
} from '../../store/byoc-events';
import type { ByocAuth } from './byoc-auth';
import { parseByocEvent } from './event-mapping';
import { openPubSubStream } from './pubsub-stream';
import type { PubSubStream, ReceivedEvent } from './pubsub-stream';

export interface OrgSubscriptionOptions {
    db: Db;
    auth: ByocAuth;
    logger: Logger;
    instanceId: string;
    topic: string;
    orgId: string;
    pubsub: { endpoint: string; transport: 'tls' | 'tls-unverified' | 'plaintext' };
    /** Lease length (default 15 s); another instance takes over after it. */
    leaseMs?: number;
    /** How often the lease is renewed or looked for (default a fifth of the lease). */
    tickMs?: number;
    /** numRequested per batch (default 50; Pub/Sub takes at most 100). */
    batch?: number;
    /** Reconnect backoff (default 1 s doubling to 30 s). */
    reconnect?: { baseMs: number; maxMs: number };
    /** Events are kept this long for the chats' streams (default one day). */
    keepEventsMs?: number;
    /** Called after events were written (the chats' streams look at once instead of at their next poll). */
    onStored(): void;
}

export interface OrgSubscription {
    start(): void;
    /** Stops reading and hands the lease back (SIGTERM). */
    stop(): Promise<void>;
    /** Whether this instance holds the subscription now. */
    holding(): boolean;
    /** One lease look now (tests). */
    tick(): Promise<void>;
}

export function createOrgSubscription(options: OrgSubscriptionOptions): OrgSubscription {
    const { db, topic, instanceId } = options;
    const logger = options.logger.child({ component: 'byoc-subscription' });
    const leaseMs = options.leaseMs ?? 15_000;
    const tickMs = options.tickMs ?? Math.max(100, Math.floor(leaseMs / 5));
    const batch = Math.max(1, Math.min(100, options.batch ?? 50));
    const reconnect = options.reconnect ?? { baseMs: 1000, maxMs: 30_000 };
    let claim: { epoch: number } | undefined;
    let stream: PubSubStream | undefined;
    let connecting: Promise<void> | undefined;
    let failures = 0;
    let retryAt = 0;
    /** Events received and not yet written, in order; and how many of the current batch arrived. */
    const queue: ReceivedEvent[] = [];
    let received = 0;
    let writing: Promise<void> | undefined;
    let timer: NodeJS.Timeout | undefined;
    let ticking: Promise<void> | undefined;
    let stopped = false;
    let lastPrune = 0;

    const lost = (why: string): void => {
        if (claim === undefined) return;
        logger.warn({ why }, 'BYOC subscription lost to another instance; stopped reading here');
        claim = undefined;
        stream?.stop();
        stream = undefined;
        queue.length = 0;
    };

    /** Writes what arrived, one transaction per run of queued events, then paces the stream. */
    const drain = (): Promise<void> => {
        writing ??= (async () => {
            try {
                while (queue.length > 0 && claim !== undefined) {
                    const events = queue.splice(0, queue.length);
                    const held = claim;
                    const parsed = events.flatMap((event) => {
                        const byoc = parseByocEvent(event.fields);
                        if (byoc === undefined) {
                            logger.warn(
                                { replayId: event.replayId },
                                'BYOC platform event without a readable payload; skipped'
                            );
                            return [];
                        }
                        return [{ replayId: event.replayId, endUserId: byoc.endUserId, payload: byoc.payload }];
                    });
                    const last = events.at(-1)!.replayId;
                    const kept = await db.transaction((tx) =>
                        storeEvents(tx, { topic, instanceId, epoch: held.epoch }, parsed, last)
                    );
                    if (!kept) {
                        lost('epoch moved on while writing');
                        return;
                    }
                    if (parsed.length > 0) options.onStored();
                }
                if (received >= batch && claim !== undefined) {
                    received -= batch;
                    stream?.requestMore();
                }
            } catch (error) {
                // Not written: the same events come again after a reconnect from the stored replay id.
                logger.error(
                    { code: asBridgeError(error, 'bridge_store_byoc_events').code },
                    'BYOC events could not be written; reconnecting from the stored replay id'
                );
                stream?.stop();
                stream = undefined;
                queue.length = 0;
                scheduleReconnect();
            } finally {
                writing = undefined;
                // An event that arrived while the last write finished is not left waiting for the next one.
                if (queue.length > 0 && claim !== undefined) void drain();
            }
        })();
        return writing;
    };

    const scheduleReconnect = (): void => {
        failures += 1;
        retryAt = Date.now() + Math.min(reconnect.maxMs, reconnect.baseMs * 2 ** (failures - 1));
    };

    const connect = async (replayId: number | null): Promise<void> => {
        const token = await options.auth.token();
        received = 0;
        const opened = openPubSubStream({
            endpoint: options.pubsub.endpoint,
            transport: options.pubsub.transport,
            topic,
            accessToken: token.accessToken,
            instanceUrl: token.instanceUrl,
            orgId: options.orgId,
            batch,
            replayId,
            logger,
            onReady: () => {
                const held = claim;
                if (held === undefined) return;
                void markReading(db, topic, instanceId, held.epoch).catch((error: unknown) => {
                    logger.warn(
                        { code: asBridgeError(error, 'bridge_store_byoc_lease').code },
                        'BYOC subscription state not saved'
                    );
                });
            },
            onEvent: (event) => {
                failures = 0;
                received += 1;
                queue.push(event);
                void drain();
            },
            onKeepAlive: (latest) => {
                failures = 0;
                // Never subscribed before: remember the tip, so a takeover starts here, not at a later tip.
                if (replayId === null && latest !== null && queue.length === 0 && claim !== undefined) {
                    const held = claim;
                    replayId = latest;
                    void db
                        .transaction((tx) => storeEvents(tx, { topic, instanceId, epoch: held.epoch }, [], latest))
                        .catch(() => undefined);
                }
            },
            onClosed: ({ unauthenticated, detail }) => {
                logger.warn(
                    { detail, unauthenticated },
                    'BYOC Pub/Sub stream closed; reconnecting from the stored replay id'
                );
                if (unauthenticated) options.auth.invalidate(token.accessToken);
                stream = undefined;
                queue.length = 0;
                scheduleReconnect();
            }
        });
        if (stopped || claim === undefined) {
            opened.stop();
            return;
        }
        stream = opened;
        logger.info({ topic, replayId, batch }, 'BYOC subscription reading');
    };

    /** Reads the stored replay id (the last event written) and subscribes from it. */
    const resubscribe = async (): Promise<void> => {
        const result = await db.query<{ replay_id: string | number | null }>(
            'SELECT replay_id FROM byoc_subscriptions WHERE topic = $1',
            [topic]
        );
        const stored = result.rows[0]?.replay_id;
        await connect(stored === null || stored === undefined ? null : Number(stored));
    };

    const runTick = async (): Promise<void> => {
        if (stopped) return;
        if (claim === undefined) {
            const got = await claimSubscription(db, topic, instanceId, leaseMs);
            if (got === undefined) return;
            claim = { epoch: got.epoch };
            failures = 0;
            retryAt = 0;
            logger.info({ epoch: got.epoch, replayId: got.replayId }, 'BYOC subscription taken');
        } else if (!(await renewSubscription(db, topic, instanceId, claim.epoch, leaseMs))) {
            lost('lease renewal refused');
            return;
        }
        if (stream === undefined && connecting === undefined && Date.now() >= retryAt && writing === undefined) {
            connecting = resubscribe()
                .catch((error: unknown) => {
                    logger.warn(
                        { code: asBridgeError(error, 'bridge_chat_unavailable').code },
                        'BYOC subscription could not connect; trying again'
                    );
                    scheduleReconnect();
                })
                .finally(() => {
                    connecting = undefined;
                });
        }
        if (Date.now() - lastPrune > 3600_000) {
            lastPrune = Date.now();
            await pruneEvents(db, options.keepEventsMs ?? 24 * 3600_000);
        }
    };

    const tick = (): Promise<void> => {
        ticking ??= runTick()
            .catch((error: unknown) => {
                logger.error(
                    { code: asBridgeError(error, 'bridge_store_byoc_lease').code },
                    'BYOC subscription lease check failed; retrying at the next tick'
                );
            })
            .finally(() => {
                ticking = undefined;
            });
        return ticking;
    };

    const schedule = (): void => {
        if (stopped) return;
        timer = setTimeout(() => {
            void tick().then(schedule);
        }, tickMs);
        timer.unref();
    };

    return {
        start() {
            // The embedded database is opened by one process at a time: a holder recorded there is an earlier
            // run of this one (killed), so its lease is not waited out.
            const forget =
                db.kind === 'pglite'
                    ? db.query(`UPDATE byoc_subscriptions SET owner = NULL WHERE topic = $1 AND owner <> $2`, [
                          topic,
                          instanceId
                      ])
                    : Promise.resolve();
            void forget.then(tick, tick).then(schedule);
        },
        async stop() {
            stopped = true;
            if (timer) clearTimeout(timer);
            await ticking;
            await connecting;
            stream?.stop();
            stream = undefined;
            await writing;
            if (claim !== undefined) {
                await releaseSubscription(db, topic, instanceId, claim.epoch);
                logger.info('BYOC subscription handed back');
            }
            claim = undefined;
        },
        holding: () => claim !== undefined && stream !== undefined,
        tick
    };
}
