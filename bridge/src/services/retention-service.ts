import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import type { Db } from '../store/db';
import { enqueue } from '../store/outbox';
import type { OutboxHandlers } from '../store/outbox-worker';
import { pruneExpired } from '../store/retention';
import type { RetentionPolicy, RetentionTable } from '../store/retention';

/**
 * Runs retention (store/retention.ts) every interval as an outbox job: each instance queues the job of the
 * current period under one idempotency key, so however many instances share the database the period's
 * job exists once, and its lease lets one instance at a time run it (a crashed run is taken over).
 */
export const RETENTION_JOB = 'bridge.retention';

export interface RetentionSettings extends RetentionPolicy {
    /** How often retention runs; the first run is at start. */
    intervalMs: number;
}

export interface RetentionService {
    handlers: OutboxHandlers;
    /** Queues this period's run now and then every interval. */
    start(): void;
    stop(): void;
}

export function createRetentionService(deps: {
    db: Db;
    outbox: { notify(): void };
    settings: RetentionSettings;
    metrics: Metrics;
    logger: Logger;
    clock: { now(): Date };
}): RetentionService {
    const { db, settings, metrics, clock } = deps;
    const logger = deps.logger.child({ component: 'retention' });
    let timer: NodeJS.Timeout | undefined;

    const queue = async (): Promise<void> => {
        const period = Math.floor(clock.now().getTime() / settings.intervalMs);
        const { duplicate } = await enqueue(db, {
            kind: RETENTION_JOB,
            orderingKey: 'bridge:retention',
            idempotencyKey: `retention:${settings.intervalMs}:${period}`,
            payload: {}
        });
        if (!duplicate) deps.outbox.notify();
    };

    const queueSafely = (): void => {
        queue().catch((error: unknown) =>
            logger.warn(
                { errorMessage: error instanceof Error ? error.message : String(error) },
                'could not queue retention; trying again at the next interval'
            )
        );
    };

    const run = async (): Promise<Record<RetentionTable, number>> => {
        const deleted = await pruneExpired(db, settings, clock.now());
        for (const [table, count] of Object.entries(deleted)) {
            if (count > 0) metrics.retentionDeleted.inc({ table }, count);
        }
        metrics.retentionLastRun.set(clock.now().getTime() / 1000);
        logger.info({ deleted }, 'retention run finished');
        return deleted;
    };

    return {
        handlers: { [RETENTION_JOB]: () => run() },
        start() {
            if (timer !== undefined) return;
            queueSafely();
            timer = setInterval(queueSafely, settings.intervalMs);
            timer.unref();
        },
        stop() {
            if (timer !== undefined) clearInterval(timer);
            timer = undefined;
        }
    };
}
