import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { BridgeError } from '../core/errors';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import type { Db } from './db';
import {
    claimJobs,
    completeJob,
    completeJobs,
    deadLetterJob,
    deferJob,
    OUTBOX_CHANNEL,
    outboxDepth,
    releaseStaleJobs,
    renewJobLeases,
    rescheduleJob
} from './outbox';
import type { ClaimedJob, DirectClaim, JobError, OutboxDepth, OutboxJob } from './outbox';

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
    /**
     * What the code that enqueued the job already held when it handed the job over in this process right
     * after its commit (`dispatch`), e.g. the session row it had locked; undefined when the job was claimed
     * from the table. A handler may use it instead of reading the same row again, and must check it.
     */
    prefetched?: unknown;
}

/** Runs one job; what it resolves with (JSON-serialisable) is kept as the job's result (see awaitJob). */
export type OutboxHandler = (payload: unknown, ctx: OutboxJobContext) => Promise<unknown>;
export type OutboxHandlers = Readonly<Record<string, OutboxHandler>>;

/** One job's outcome inside a batch: each job completes, retries or dead-letters on its own. */
export type BatchItemOutcome = { ok: true; result?: unknown } | { ok: false; error: unknown };

/**
 * Runs many due jobs of one kind in one remote call (e.g. 200 Case upserts in one sObject Collections
 * request). `run` gets the jobs of one group, in id order, and answers one outcome per item in the
 * same order; if it throws, the whole call failed and every job of the group gets that error.
 */
export interface OutboxBatchHandler {
    /** Most jobs per call (Salesforce collections: 200). */
    maxBatch: number;
    /** Jobs with the same group go in one call (e.g. sObject type + external-id field). */
    groupBy(payload: unknown): string;
    run(items: Array<{ payload: unknown; ctx: OutboxJobContext }>): Promise<BatchItemOutcome[]>;
}
export type OutboxBatchHandlers = Readonly<Record<string, OutboxBatchHandler>>;

export interface OutboxWorkerOptions {
    db: Db;
    handlers: OutboxHandlers;
    /**
     * Kinds that may run in batches. Due jobs of such a kind are claimed together (still one per
     * ordering key at a time) and run with one call per group; a lone job still goes at once.
     */
    batchHandlers?: OutboxBatchHandlers | undefined;
    clock: OutboxClock;
    logger: Logger;
    metrics?: Metrics | undefined;
    /** Jobs (or batches) run at the same time (each job of a different ordering key). Default 4. */
    concurrency?: number | undefined;
    /** How often to look for due jobs when not woken by notify(). Default 1000. */
    pollIntervalMs?: number | undefined;
    /**
     * How long a claim lasts before another worker may take the job over. The worker renews the leases
     * of its running jobs every third of it, so this bounds how long a dead worker's jobs wait. Default 15 000.
     */
    leaseMs?: number | undefined;
    /**
     * No other live worker uses this database (default: true for the embedded one, which one process at a
     * time opens): jobs a crashed earlier run had claimed are taken again at start, not after their lease.
     */
    exclusiveDatabase?: boolean | undefined;
    /** Attempts before a job is dead-lettered. Default 8. */
    maxAttempts?: number | undefined;
    /** Exponential backoff with full jitter between attempts. Default 1 s doubling up to 5 min. */
    backoff?: { baseMs: number; maxMs: number } | undefined;
    /** Source of jitter in [0, 1); tests pass a fixed one. */
    random?: (() => number) | undefined;
    workerId?: string | undefined;
    /** The bridge instance whose chat streams this worker serves (jobs bound to another's streams are left). */
    instanceId?: string | undefined;
}

export interface OutboxWorker {
    /** Starts polling; jobs run in the background until stop(). */
    start(): void;
    /** Stops claiming new jobs and waits for the running ones to finish. */
    stop(): Promise<void>;
    /** A job was enqueued: look now rather than at the next poll. */
    notify(): void;
    /**
     * Lease terms for one transaction's enqueues that this worker is to run itself right after the commit
     * (outbox.ts DirectClaim); undefined while the worker is not running (then jobs are enqueued `pending`).
     */
    directClaim(): DirectClaim | undefined;
    /**
     * After the commit of the transaction that enqueued with `claim`: runs its claimed jobs in this process
     * (as slots free up, in the order given) and wakes the claim path if a job was left pending. Not to be
     * called when the transaction rolled back.
     */
    dispatch(claim: DirectClaim, prefetched?: unknown): void;
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

/**
 * How long a job asks to wait before it runs again, when it did not fail but may not go yet (a rate
 * limit: the Enhanced Chat 22-messages-per-minute window). The rule: a BridgeError whose `details.deferMs`
 * is a number. The worker puts such a job back until then, frees its slot for other keys, keeps its
 * key's later jobs behind it, and does not count the attempt.
 */
export function deferralOf(error: unknown): number | undefined {
    if (!(error instanceof BridgeError)) return undefined;
    const ms = error.details['deferMs'];
    return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms : undefined;
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

/** How often the poll also refreshes the outbox depth gauge. */
const DEPTH_REFRESH_MS = 10_000;

export function createOutboxWorker(options: OutboxWorkerOptions): OutboxWorker {
    const { db, handlers, clock, metrics } = options;
    const batchHandlers = options.batchHandlers ?? {};
    const logger = options.logger.child({ component: 'outbox' });
    const concurrency = Math.max(1, options.concurrency ?? 4);
    const pollIntervalMs = options.pollIntervalMs ?? 1000;
    const leaseMs = options.leaseMs ?? 15_000;
    const maxAttempts = Math.max(1, options.maxAttempts ?? 8);
    const backoff = options.backoff ?? { baseMs: 1000, maxMs: 5 * 60_000 };
    const random = options.random ?? Math.random;
    const workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

    let running = false;
    let again = false;
    let depthReadAt = Number.NEGATIVE_INFINITY;
    let pumping: Promise<void> | undefined;
    let timer: NodeJS.Timeout | undefined;
    let renewTimer: NodeJS.Timeout | undefined;
    let unlisten: Promise<(() => Promise<void>) | undefined> | undefined;
    const inFlight = new Set<Promise<void>>();
    /** Claimed jobs handed over by dispatch() while every slot was taken: they run as slots free up. */
    const handedOver: Unit[] = [];
    /** Handed-over jobs running now, and whether a claim ran meanwhile (it may have left a later job of their key). */
    let directRunning = 0;
    let claimBehindDirect = false;
    /** A claim was skipped because every slot was taken: the next slot that frees must look. */
    let slotsWereFull = false;
    const completions: Completion[] = [];
    let completing = false;
    /**
     * The attempts this worker holds and has not finished with (claimed, running, or writing their outcome),
     * by `id#attempt`: only these leases are renewed. An attempt whose outcome could not be written leaves
     * this map, its lease runs out, and it runs again instead of holding its ordering key for good.
     */
    const held = new Map<string, ClaimedJob>();
    /** The attempt of each job this worker is running: a newer attempt of the same job waits for it. */
    const runningJobs = new Map<string, Promise<void>>();

    function hold(jobs: readonly OutboxJob[]): void {
        for (const job of jobs) held.set(`${job.id}#${job.attempts}`, { id: job.id, attempts: job.attempts });
    }

    /**
     * Claims up to `limit` units of work: single jobs, or batches of a batchable kind. When a claim
     * finds jobs of a batchable kind it tops them up with more due jobs of that kind (one per ordering
     * key, so per-key order holds), then splits them by group and maxBatch.
     */
    async function claim(limit: number): Promise<Unit[]> {
        const jobs = await claimJobs(db, {
            now: clock.now(),
            leaseMs,
            limit,
            workerId,
            instanceId: options.instanceId
        });
        hold(jobs);
        const units: Unit[] = [];
        const byKind = new Map<string, OutboxJob[]>();
        for (const job of jobs) {
            if (batchHandlers[job.kind] === undefined) units.push({ jobs: [job] });
            else byKind.set(job.kind, [...(byKind.get(job.kind) ?? []), job]);
        }
        for (const [kind, first] of byKind) {
            const batch = batchHandlers[kind]!;
            const maxBatch = Math.max(1, batch.maxBatch);
            let more: OutboxJob[] = [];
            if (first.length < maxBatch) {
                try {
                    more = await claimJobs(db, {
                        now: clock.now(),
                        leaseMs,
                        limit: maxBatch - first.length,
                        workerId,
                        instanceId: options.instanceId,
                        kinds: [kind]
                    });
                    hold(more);
                } catch (error) {
                    // The jobs already claimed must still run now, not wait for their lease to pass.
                    logger.warn({ errorMessage: errorOf(error).message }, 'could not fill an outbox batch');
                }
            }
            const groups = new Map<string, OutboxJob[]>();
            for (const job of [...first, ...more].sort((a, b) => compareIds(a.id, b.id))) {
                let group: string;
                try {
                    group = `g:${batch.groupBy(job.payload)}`;
                } catch {
                    // An unreadable payload goes alone; its handler reports the problem for that job only.
                    group = `job:${job.id}`;
                }
                groups.set(group, [...(groups.get(group) ?? []), job]);
            }
            for (const members of groups.values()) {
                for (let i = 0; i < members.length; i += maxBatch) {
                    units.push({ jobs: members.slice(i, i + maxBatch), batch: { kind, handler: batch } });
                }
            }
        }
        return units;
    }

    function contextOf(job: OutboxJob, prefetched?: unknown): OutboxJobContext {
        // A job's own logger is made only when its handler logs: most never do, and a child logger per job costs.
        let jobLogger: Logger | undefined;
        return {
            jobId: job.id,
            kind: job.kind,
            orderingKey: job.orderingKey,
            idempotencyKey: job.idempotencyKey ?? `outbox:${job.id}`,
            attempt: job.attempts,
            get logger() {
                jobLogger ??= logger.child({ jobId: job.id, kind: job.kind });
                return jobLogger;
            },
            ...(prefetched === undefined ? {} : { prefetched })
        };
    }

    /**
     * Runs a unit once the earlier attempts of its jobs that this worker still runs have finished: a lease
     * that lapsed during a long call (renewals failing) lets this worker claim the job again, and the two
     * attempts must not overlap.
     */
    function runUnit(unit: Unit): Promise<void> {
        const earlier = unit.jobs.flatMap((job) => {
            const running = runningJobs.get(job.id);
            return running === undefined ? [] : [running];
        });
        const run = (
            earlier.length === 0 ? runUnitNow(unit) : Promise.allSettled(earlier).then(() => runUnitNow(unit))
        ).finally(() => {
            for (const job of unit.jobs) if (runningJobs.get(job.id) === run) runningJobs.delete(job.id);
        });
        for (const job of unit.jobs) runningJobs.set(job.id, run);
        return run;
    }

    async function runUnitNow(unit: Unit): Promise<void> {
        if (unit.batch === undefined) {
            for (const job of unit.jobs) await execute(job, unit.prefetched);
            return;
        }
        const { jobs } = unit;
        let outcomes: BatchItemOutcome[];
        try {
            outcomes = await unit.batch.handler.run(jobs.map((job) => ({ payload: job.payload, ctx: contextOf(job) })));
        } catch (error) {
            outcomes = jobs.map(() => ({ ok: false, error }));
        }
        await Promise.all(
            jobs.map((job, i) =>
                recordOutcome(
                    job,
                    outcomes[i] ?? {
                        ok: false,
                        error: new BridgeError('bridge_outbox_batch_incomplete', 'the batch handler gave no outcome')
                    }
                )
            )
        );
    }

    /**
     * Records a success. Successes that finish while a write is in flight wait for it and then go
     * together in one statement: under load that saves a round trip per job, when idle it adds nothing.
     * The job keeps its slot until its row says done, so the next job of its key is claimed after that.
     */
    function complete(job: OutboxJob, result: unknown): Promise<boolean> {
        return new Promise<boolean>((resolve, reject) => {
            completions.push({ job, result, resolve, reject });
            if (!completing) void flushCompletions();
        });
    }

    async function flushCompletions(): Promise<void> {
        completing = true;
        try {
            while (completions.length > 0) {
                const batch = completions.splice(0, MAX_COMPLETIONS_PER_WRITE);
                try {
                    const recorded = await completeJobs(db, batch, clock.now());
                    for (const item of batch) item.resolve(recorded.has(item.job.id));
                } catch (error) {
                    // One statement for many rows fails for all of them: write each alone, so only a row
                    // that cannot be written (or a database that is gone) fails, not its neighbours.
                    logger.warn(
                        { jobs: batch.length, errorMessage: errorOf(error).message },
                        'could not record outbox successes together; writing them one by one'
                    );
                    for (const item of batch) {
                        try {
                            item.resolve(await completeJob(db, item.job, clock.now(), item.result));
                        } catch (single) {
                            item.reject(single);
                        }
                    }
                }
            }
        } finally {
            completing = false;
        }
    }

    async function recordOutcome(job: OutboxJob, outcome: BatchItemOutcome): Promise<void> {
        try {
            await writeOutcome(job, outcome);
        } finally {
            held.delete(`${job.id}#${job.attempts}`);
        }
    }

    async function writeOutcome(job: OutboxJob, outcome: BatchItemOutcome): Promise<void> {
        try {
            if (outcome.ok) {
                if (await complete(job, outcome.result)) metrics?.outboxJobs.inc({ kind: job.kind, outcome: 'done' });
            } else {
                await recordFailure(job, outcome.error);
            }
        } catch (error) {
            logger.error(
                { jobId: job.id, kind: job.kind, errorMessage: errorOf(error).message },
                'could not record outbox job outcome; it will run again after its lease'
            );
        }
    }

    async function execute(job: OutboxJob, prefetched?: unknown): Promise<void> {
        const handler = handlers[job.kind];
        let failure: unknown;
        let succeeded = false;
        let result: unknown;
        try {
            if (handler === undefined) {
                throw permanentFailure(
                    new BridgeError('bridge_outbox_unknown_kind', `no outbox handler for job kind "${job.kind}"`)
                );
            }
            result = await handler(job.payload, contextOf(job, prefetched));
            succeeded = true;
        } catch (error) {
            failure = error;
        }
        // If the outcome cannot be written (database gone), the lease runs out and the job runs again.
        await recordOutcome(job, succeeded ? { ok: true, result } : { ok: false, error: failure });
    }

    async function recordFailure(job: OutboxJob, failure: unknown): Promise<void> {
        const error = errorOf(failure);
        const permanent = isPermanentFailure(failure);
        const now = clock.now();
        const deferMs = permanent ? undefined : deferralOf(failure);
        if (deferMs !== undefined) {
            if (!(await deferJob(db, job, { now, runAt: new Date(now.getTime() + deferMs) }))) return;
            metrics?.outboxJobs.inc({ kind: job.kind, outcome: 'deferred' });
            logger.debug({ jobId: job.id, kind: job.kind, deferMs, reason: error.code }, 'outbox job waits its turn');
            return;
        }
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
                    errorMessage: error.message,
                    ...(error.fields === undefined ? {} : { fields: error.fields })
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

    function launch(unit: Unit): void {
        if (unit.direct === true) directRunning += 1;
        const done: Promise<void> = runUnit(unit).finally(() => {
            inFlight.delete(done);
            let claimNow = unit.direct !== true;
            if (unit.direct === true) {
                directRunning -= 1;
                // A handed-over job ends without a claim query, unless a claim ran while it held its key.
                claimNow = claimBehindDirect;
                if (directRunning === 0) claimBehindDirect = false;
            }
            // A slot freed: jobs already claimed and handed over go first (even while stopping: they are leased).
            const next = handedOver.shift();
            if (next !== undefined) launch(next);
            if (claimNow || (next === undefined && slotsWereFull)) kick();
        });
        inFlight.add(done);
    }

    async function pump(): Promise<void> {
        do {
            again = false;
            const free = concurrency - inFlight.size - handedOver.length;
            if (free <= 0) {
                slotsWereFull = true;
                return;
            }
            slotsWereFull = false;
            let units: Unit[];
            const behindDirect = directRunning > 0;
            try {
                units = await claim(free);
                if (behindDirect || directRunning > 0) claimBehindDirect = true;
            } catch (error) {
                logger.warn({ errorMessage: errorOf(error).message }, 'could not claim outbox jobs; will poll again');
                return;
            }
            // Claimed jobs run even if stop() came meanwhile: they are leased, stop() waits for them.
            for (const unit of units) launch(unit);
            // A full batch means more may be due: claim again while slots are free.
            const fullBatch = units.some((u) => u.batch !== undefined && u.jobs.length >= u.batch.handler.maxBatch);
            if (units.length >= free || fullBatch) again = true;
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
            // The depth gauge is for dashboards (scraped every 15 s or so): counting it at every poll cost more
            // than the poll itself once thousands of jobs were open.
            const now = clock.now().getTime();
            if (now - depthReadAt >= DEPTH_REFRESH_MS) {
                depthReadAt = now;
                refreshDepth().catch((error: unknown) =>
                    logger.warn({ errorMessage: errorOf(error).message }, 'could not read outbox depth')
                );
            }
            kick();
        }, pollIntervalMs);
        timer.unref();
    }

    async function runOnce(): Promise<number> {
        const units = await claim(concurrency);
        await Promise.all(units.map((unit) => runUnit(unit)));
        return units.reduce((n, unit) => n + unit.jobs.length, 0);
    }

    async function renewLeases(): Promise<void> {
        if (held.size === 0) return;
        try {
            await renewJobLeases(db, { workerId, now: clock.now(), leaseMs, jobs: [...held.values()] });
        } catch (error) {
            // If renewals keep failing the leases run out and another worker takes the jobs: fenced, not doubled.
            logger.warn({ errorMessage: errorOf(error).message }, 'could not renew outbox leases');
        }
    }

    return {
        start() {
            if (running) return;
            running = true;
            renewTimer = setInterval(() => void renewLeases(), Math.max(50, Math.floor(leaseMs / 3)));
            renewTimer.unref();
            // Jobs another instance stored for this one (a chat whose stream this one reads) wake it at once.
            unlisten = db.listen
                ?.call(db, OUTBOX_CHANNEL, () => kick())
                .catch((error: unknown) => {
                    logger.warn(
                        { errorMessage: errorOf(error).message },
                        'cannot listen for outbox jobs; polling only'
                    );
                    return undefined;
                });
            if (options.exclusiveDatabase ?? db.kind === 'pglite') {
                pumping = releaseStaleJobs(db, clock.now())
                    .then((released) => {
                        if (released > 0) logger.info({ released }, 'outbox jobs of an earlier run taken back');
                    })
                    .catch((error: unknown) =>
                        logger.warn({ errorMessage: errorOf(error).message }, 'could not take back stale outbox jobs')
                    )
                    .finally(() => {
                        pumping = undefined;
                        kick();
                    });
                return;
            }
            kick();
        },
        async stop() {
            running = false;
            if (timer !== undefined) clearTimeout(timer);
            timer = undefined;
            if (renewTimer !== undefined) clearInterval(renewTimer);
            renewTimer = undefined;
            const stopListening = await unlisten;
            unlisten = undefined;
            await stopListening?.();
            if (pumping !== undefined) await pumping;
            // Handed-over jobs are launched as running ones finish, so this also waits for them.
            while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
        },
        notify() {
            kick();
        },
        directClaim() {
            if (!running) return undefined;
            return { workerId, leaseMs, now: clock.now(), claimed: [], pending: false };
        },
        dispatch(claim, prefetched) {
            if (claim.pending) kick();
            if (claim.claimed.length === 0) return;
            if (!running) {
                // Stopped between the enqueue and its commit: give the jobs back rather than leave them leased.
                for (const job of claim.claimed) {
                    const now = clock.now();
                    void deferJob(db, job, { now, runAt: now }).catch((error: unknown) =>
                        logger.warn({ errorMessage: errorOf(error).message }, 'could not give back an outbox job')
                    );
                }
                return;
            }
            hold(claim.claimed);
            for (const job of claim.claimed) {
                const unit: Unit = { jobs: [job], direct: true, prefetched };
                if (inFlight.size < concurrency) launch(unit);
                else handedOver.push(unit);
            }
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

/** Successes written in one statement at most (bounds the statement's size). */
const MAX_COMPLETIONS_PER_WRITE = 500;

interface Completion {
    job: OutboxJob;
    result: unknown;
    resolve(recorded: boolean): void;
    reject(error: unknown): void;
}

interface Unit {
    jobs: OutboxJob[];
    batch?: { kind: string; handler: OutboxBatchHandler };
    /** Claimed at enqueue and handed over by dispatch(), not claimed from the table. */
    direct?: boolean;
    /** What the enqueuer handed over with it (OutboxJobContext.prefetched). */
    prefetched?: unknown;
}

function compareIds(a: string, b: string): number {
    return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** A job error, plus the fields a Salesforce validation error names (for the dead-letter log line). */
function errorOf(error: unknown): JobError & { fields?: string[] } {
    if (error instanceof BridgeError) {
        const fields = error.details['fields'];
        return Array.isArray(fields) && fields.length > 0
            ? { code: error.code, message: error.message, fields: fields.map(String) }
            : { code: error.code, message: error.message };
    }
    if (error instanceof Error) {
        const code = (error as Error & { code?: unknown }).code;
        return { code: typeof code === 'string' ? code : error.name, message: error.message || error.name };
    }
    return { code: 'unknown', message: String(error) };
}
