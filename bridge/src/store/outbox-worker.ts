import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { BridgeError } from '../core/errors';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import type { Db } from './db';
import { claimJobs, completeJob, deadLetterJob, outboxDepth, rescheduleJob } from './outbox';
import type { JobError, OutboxDepth, OutboxJob } from './outbox';

export interface OutboxClock {
    now(): Date;
}

export interface OutboxJobContext {
    jobId: string;
    kind: string;
    orderingKey: string;
    /** The enqueue idempotency key, or `outbox:<id>`: pass it on to the remote call. */
    idempotencyKey: string;
    /** 1 for the first attempt. */
    attempt: number;
    logger: Logger;
}

export type OutboxHandler = (payload: unknown, ctx: OutboxJobContext) => Promise<void>;
export type OutboxHandlers = Readonly<Record<string, OutboxHandler>>;

export interface OutboxWorkerOptions {
    db: Db;
    handlers: OutboxHandlers;
    clock: OutboxClock;
    logger: Logger;
    metrics?: Metrics | undefined;
    /** Jobs run at the same time (each of a different ordering key). Default 4. */
    concurrency?: number | undefined;
    /** How often to look for due jobs when not woken by notify(). Default 1000. */
    pollIntervalMs?: number | undefined;
    /** How long a claim lasts before another worker may take the job over. Default 60 000. */
    leaseMs?: number | undefined;
    /** Attempts before a job is dead-lettered. Default 8. */
    maxAttempts?: number | undefined;
    /** Exponential backoff with full jitter between attempts. Default 1 s doubling up to 5 min. */
    backoff?: { baseMs: number; maxMs: number } | undefined;
    /** Source of jitter in [0, 1); tests pass a fixed one. */
    random?: (() => number) | undefined;
    workerId?: string | undefined;
}

export interface OutboxWorker {
    /** Starts polling; jobs run in the background until stop(). */
    start(): void;
    /** Stops claiming new jobs and waits for the running ones to finish. */
    stop(): Promise<void>;
    /** A job was enqueued: look now rather than at the next poll. */
    notify(): void;
    /** Claims one batch of due jobs and runs it to the end; returns how many ran. */
    runOnce(): Promise<number>;
    /** Runs batches until no job is due (by the clock); returns how many ran. */
    drain(): Promise<number>;
    /** Reads the queue depth and updates the outbox gauges. */
    refreshDepth(): Promise<OutboxDepth>;
}

/**
 * Marks an error as not worth retrying (a 4xx the remote will repeat, a payload that cannot be sent):
 * the job is dead-lettered at once. The rule the worker applies: an error is permanent when it is a
 * BridgeError whose `details.retryable === false`; everything else is retried.
 */
export function permanentFailure(error: unknown): BridgeError {
    if (error instanceof BridgeError) {
        return new BridgeError(error.code, error.message, {
            cause: error,
            details: { ...error.details, retryable: false }
        });
    }
    const message = error instanceof Error ? error.message : String(error);
    return new BridgeError('bridge_outbox_permanent', message, { cause: error, details: { retryable: false } });
}

export function isPermanentFailure(error: unknown): boolean {
    return error instanceof BridgeError && error.details['retryable'] === false;
}

/** Full jitter: a random delay between 0 and min(maxMs, baseMs · 2^(attempt-1)). */
export function backoffDelayMs(
    attempt: number,
    backoff: { baseMs: number; maxMs: number },
    random: () => number = Math.random
): number {
    const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempt - 1));
    return Math.floor(random() * ceiling);
}

export function createOutboxWorker(options: OutboxWorkerOptions): OutboxWorker {
    const { db, handlers, clock, metrics } = options;
    const logger = options.logger.child({ component: 'outbox' });
    const concurrency = Math.max(1, options.concurrency ?? 4);
    const pollIntervalMs = options.pollIntervalMs ?? 1000;
    const leaseMs = options.leaseMs ?? 60_000;
    const maxAttempts = Math.max(1, options.maxAttempts ?? 8);
    const backoff = options.backoff ?? { baseMs: 1000, maxMs: 5 * 60_000 };
    const random = options.random ?? Math.random;
    const workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

    let running = false;
    let again = false;
    let pumping: Promise<void> | undefined;
    let timer: NodeJS.Timeout | undefined;
    const inFlight = new Set<Promise<void>>();

    async function claim(limit: number): Promise<OutboxJob[]> {
        return claimJobs(db, { now: clock.now(), leaseMs, limit, workerId });
    }

    async function execute(job: OutboxJob): Promise<void> {
        const handler = handlers[job.kind];
        let failure: unknown;
        let succeeded = false;
        try {
            if (handler === undefined) {
                throw permanentFailure(
                    new BridgeError('bridge_outbox_unknown_kind', `no outbox handler for job kind "${job.kind}"`)
                );
            }
            await handler(job.payload, {
                jobId: job.id,
                kind: job.kind,
                orderingKey: job.orderingKey,
                idempotencyKey: job.idempotencyKey ?? `outbox:${job.id}`,
                attempt: job.attempts,
                logger: logger.child({ jobId: job.id, kind: job.kind })
            });
            succeeded = true;
        } catch (error) {
            failure = error;
        }
        try {
            if (succeeded) {
                await completeJob(db, job, clock.now());
                metrics?.outboxJobs.inc({ kind: job.kind, outcome: 'done' });
            } else {
                await recordFailure(job, failure);
            }
        } catch (error) {
            // The outcome could not be written (database gone): the lease runs out and the job runs again.
            logger.error(
                { jobId: job.id, kind: job.kind, errorMessage: errorOf(error).message },
                'could not record outbox job outcome; it will run again after its lease'
            );
        }
    }

    async function recordFailure(job: OutboxJob, failure: unknown): Promise<void> {
        const error = errorOf(failure);
        const permanent = isPermanentFailure(failure);
        const now = clock.now();
        if (permanent || job.attempts >= maxAttempts) {
            if (!(await deadLetterJob(db, job, { now, error }))) return;
            metrics?.outboxDeadLetters.inc({ kind: job.kind });
            metrics?.outboxJobs.inc({ kind: job.kind, outcome: 'dead' });
            logger.error(
                {
                    jobId: job.id,
                    kind: job.kind,
                    attempts: job.attempts,
                    permanent,
                    errorCode: error.code,
                    errorMessage: error.message
                },
                'outbox job dead-lettered'
            );
            return;
        }
        const delayMs = backoffDelayMs(job.attempts, backoff, random);
        if (!(await rescheduleJob(db, job, { now, runAt: new Date(now.getTime() + delayMs), error }))) return;
        metrics?.outboxJobs.inc({ kind: job.kind, outcome: 'retry' });
        logger.warn(
            {
                jobId: job.id,
                kind: job.kind,
                attempt: job.attempts,
                retryInMs: delayMs,
                errorCode: error.code,
                errorMessage: error.message
            },
            'outbox job failed; will retry'
        );
    }

    async function refreshDepth(): Promise<OutboxDepth> {
        const depth = await outboxDepth(db);
        if (metrics !== undefined) {
            for (const state of ['pending', 'running', 'dead'] as const)
                metrics.outboxDepth.set({ state }, depth[state]);
        }
        return depth;
    }

    function launch(job: OutboxJob): void {
        const done: Promise<void> = execute(job).finally(() => {
            inFlight.delete(done);
            kick();
        });
        inFlight.add(done);
    }

    async function pump(): Promise<void> {
        do {
            again = false;
            const free = concurrency - inFlight.size;
            if (free <= 0) return;
            let jobs: OutboxJob[];
            try {
                jobs = await claim(free);
            } catch (error) {
                logger.warn({ errorMessage: errorOf(error).message }, 'could not claim outbox jobs; will poll again');
                return;
            }
            // Claimed jobs run even if stop() came meanwhile: they are leased, stop() waits for them.
            for (const job of jobs) launch(job);
            if (jobs.length === free) again = true;
        } while (again && running);
    }

    function kick(): void {
        if (!running) return;
        if (pumping !== undefined) {
            again = true;
            return;
        }
        pumping = pump().finally(() => {
            pumping = undefined;
            if (again && running) kick();
            else schedule();
        });
    }

    function schedule(): void {
        if (!running) return;
        if (timer !== undefined) clearTimeout(timer);
        timer = setTimeout(() => {
            timer = undefined;
            refreshDepth().catch((error: unknown) =>
                logger.warn({ errorMessage: errorOf(error).message }, 'could not read outbox depth')
            );
            kick();
        }, pollIntervalMs);
        timer.unref();
    }

    async function runOnce(): Promise<number> {
        const jobs = await claim(concurrency);
        await Promise.all(jobs.map((job) => execute(job)));
        return jobs.length;
    }

    return {
        start() {
            if (running) return;
            running = true;
            kick();
        },
        async stop() {
            running = false;
            if (timer !== undefined) clearTimeout(timer);
            timer = undefined;
            if (pumping !== undefined) await pumping;
            while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
        },
        notify() {
            kick();
        },
        runOnce,
        async drain() {
            let total = 0;
            for (let ran = await runOnce(); ran > 0; ran = await runOnce()) total += ran;
            await refreshDepth();
            return total;
        },
        refreshDepth
    };
}

function errorOf(error: unknown): JobError {
    if (error instanceof BridgeError) return { code: error.code, message: error.message };
    if (error instanceof Error) {
        const code = (error as Error & { code?: unknown }).code;
        return { code: typeof code === 'string' ? code : error.name, message: error.message || error.name };
    }
    return { code: 'unknown', message: String(error) };
}
