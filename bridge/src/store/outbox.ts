import type { Db, Queryable } from './db';
import { asDate, asOptionalDate, jsonParam, storableJsonParam, timeParam } from './sql';

/**
 * The durable outbox: every outbound call that must not be lost is written as a job in the same
 * transaction as the state change that causes it, then run by the outbox worker (at least once).
 *
 * Rules, in one place:
 * - Ordering: jobs sharing an `orderingKey` run one at a time, in enqueue (id) order. A job is
 *   claimable only when no earlier job of its key is still `pending` or `running` (a job waiting for
 *   its retry time is `pending`, so it holds the later ones back).
 * - A `dead` job does NOT block later jobs of its key: one poison message must not stall a user's
 *   conversation forever. Operators see it in `listDeadJobs` and may retry it (it then runs ahead of
 *   any still-open later job of its key, but after those that already finished).
 * - Claims are leases (`locked_until`). A worker that crashes mid-job loses nothing: once the lease
 *   has passed the job is claimable again, so handlers must be idempotent (they get an idempotency key).
 * - Outcome writes are fenced by the attempt number, so a worker whose lease was taken over cannot
 *   overwrite the newer attempt's outcome.
 * - After the enqueuing transaction commits, call the worker's `notify()` so the job starts now
 *   rather than at the next poll; or, where a lock serialises the key's enqueues, insert it already
 *   claimed (DirectClaim) and hand it to the worker after the commit (`dispatch`): it then runs in this
 *   process at once, and a crash leaves a leased job that a worker takes over after the lease.
 */
export type OutboxState = 'pending' | 'running' | 'done' | 'dead';

export interface NewOutboxJob {
    /** Which handler runs it, e.g. `haptik.sendMessage`. */
    kind: string;
    /** Jobs with the same key run in order, one at a time (e.g. one Haptik user). */
    orderingKey: string;
    /** JSON-serialisable; may hold personal data, so it is never logged. */
    payload: unknown;
    /** A repeat with the same key (across all kinds) is a no-op returning the first job. */
    idempotencyKey?: string | undefined;
    /** Not before this time; default: at once. */
    runAt?: Date | undefined;
    /**
     * A handover whose chat stream must be read by the instance that runs this job: a call that uses the
     * stream's live session (a Live Agent POST with its affinity token and sequence, which a second
     * session of the same chat elsewhere would invalidate). See claimJobs' `instanceId`.
     */
    streamId?: string | undefined;
}

export interface OutboxJob {
    id: string;
    kind: string;
    orderingKey: string;
    payload: unknown;
    idempotencyKey: string | null;
    state: OutboxState;
    /** Attempts started so far (a claimed job counts its current attempt). */
    attempts: number;
    runAt: Date | null;
    lockedUntil: Date | null;
    lastError: string | null;
    lastErrorCode: string | null;
    /** What the handler returned when the job finished (`null` until then, or when it returned nothing). */
    result?: unknown;
    createdAt: Date;
    updatedAt: Date;
    finishedAt: Date | null;
}

export interface OutboxDepth {
    pending: number;
    running: number;
    dead: number;
}

/** What a claimed job is identified by when its outcome is recorded. */
export type ClaimedJob = Pick<OutboxJob, 'id' | 'attempts'>;

export interface JobError {
    code: string;
    message: string;
}

interface OutboxRow {
    id: string;
    kind: string;
    ordering_key: string;
    payload: unknown;
    idempotency_key: string | null;
    state: OutboxState;
    attempts: number;
    run_at: unknown;
    locked_until: unknown;
    last_error: string | null;
    last_error_code: string | null;
    result?: unknown;
    created_at: unknown;
    updated_at: unknown;
    finished_at: unknown;
}

const MAX_ERROR_TEXT = 2000;

/** NOTIFY channel (per schema) that wakes the outbox workers of every instance. */
export const OUTBOX_CHANNEL = 'bridge_outbox';

/**
 * Lease terms under which `enqueue` inserts a job already claimed by a worker of this process, so that the
 * worker runs it right after the commit (`OutboxWorker.dispatch`) without a claim query, a NOTIFY or a poll:
 * the outbox is then only the retry path. Get one from `OutboxWorker.directClaim()` per transaction.
 *
 * Only for enqueues made under a lock that serialises every enqueue of the job's ordering key (e.g. a
 * handover's session row for its chat's jobs): the insert checks for an earlier unfinished job of the key
 * and claims only when there is none, which proves the order only if no other transaction can add one in
 * between. A job of a chat's stream may be claimed so only where this instance reads that stream.
 */
export interface DirectClaim {
    readonly workerId: string;
    readonly leaseMs: number;
    readonly now: Date;
    /** Filled by `enqueue`: jobs inserted claimed (`running`, attempt 1), to run after the commit. */
    readonly claimed: OutboxJob[];
    /** Set by `enqueue` when a job was left `pending` for the claim path (the worker must be woken). */
    pending: boolean;
}

/** What the INSERT of a job (jobInsert) answers. */
export interface InsertedJobRow {
    id: string;
    state: OutboxState;
    created_at: unknown;
}

/**
 * The INSERT of one job, for `enqueue` and for statements that write a job together with other rows (e.g.
 * a relayed message and its job, as data-modifying CTEs): its SQL with parameters numbered from `first`,
 * its parameters, and `gate`, an optional `FROM`-able relation that must have a row for the job to be
 * written (e.g. the CTE of the message it relays, empty when that was a duplicate). The statement answers
 * InsertedJobRow (`RETURNING`), no row for a repeated idempotency key (or a closed gate); pass that row
 * to `afterInsert`.
 */
export function jobInsert(
    job: NewOutboxJob,
    claim: DirectClaim | undefined,
    first = 1,
    gate?: string
): { sql: string; params: unknown[]; payload: string } {
    const payload = jsonParam(job.payload ?? null)!;
    const $ = (n: number): string => `$${first + n - 1}`;
    const params: unknown[] = [
        job.kind,
        job.orderingKey,
        payload,
        job.idempotencyKey ?? null,
        timeParam(job.runAt),
        job.streamId ?? null
    ];
    const due = claim !== undefined && (job.runAt === undefined || job.runAt <= claim.now);
    if (!due) {
        const values = `${$(1)}, ${$(2)}, ${$(3)}::jsonb, ${$(4)}, ${$(5)}::timestamptz, ${$(6)}`;
        return {
            sql: `INSERT INTO outbox_jobs (kind, ordering_key, payload, idempotency_key, run_at, stream_id)
                  ${gate === undefined ? `VALUES (${values})` : `SELECT ${values} FROM ${gate}`}
                  ON CONFLICT (idempotency_key) DO NOTHING
                  RETURNING id, state, created_at`,
            params,
            payload
        };
    }
    params.push(new Date(claim.now.getTime() + claim.leaseMs).toISOString(), claim.workerId, claim.now.toISOString());
    // Claimed only when no earlier job of its key is unfinished: the caller's lock keeps another from coming in between.
    return {
        sql: `INSERT INTO outbox_jobs (kind, ordering_key, payload, idempotency_key, run_at, stream_id,
                  state, attempts, locked_until, locked_by, updated_at)
              SELECT ${$(1)}, ${$(2)}, ${$(3)}::jsonb, ${$(4)}, ${$(5)}::timestamptz, ${$(6)},
                  CASE WHEN free THEN 'running' ELSE 'pending' END, CASE WHEN free THEN 1 ELSE 0 END,
                  CASE WHEN free THEN ${$(7)}::timestamptz END, CASE WHEN free THEN ${$(8)} END, ${$(9)}::timestamptz
              FROM (SELECT NOT EXISTS (
                  SELECT 1 FROM outbox_jobs open
                  WHERE open.ordering_key = ${$(2)} AND open.state IN ('pending', 'running'))) AS f(free)
              ${gate === undefined ? '' : `, ${gate}`}
              ON CONFLICT (idempotency_key) DO NOTHING
              RETURNING id, state, created_at`,
        params,
        payload
    };
}

/**
 * Books a freshly inserted job (jobInsert's row): a claimed one joins `claim.claimed`, one left pending
 * sets `claim.pending`. Answers whether a stream-bound job was left pending, i.e. whether the statement
 * must also wake the other instances (a NOTIFY at commit, see enqueue).
 */
export function afterInsert(
    job: NewOutboxJob,
    row: InsertedJobRow,
    payload: string,
    claim: DirectClaim | undefined
): { notify: boolean } {
    if (row.state === 'running' && claim !== undefined) {
        claim.claimed.push({
            id: String(row.id),
            kind: job.kind,
            orderingKey: job.orderingKey,
            // What a claim would read back: the payload as stored (cleaned by jsonParam).
            payload: JSON.parse(payload) as unknown,
            idempotencyKey: job.idempotencyKey ?? null,
            state: 'running',
            attempts: 1,
            runAt: job.runAt ?? null,
            lockedUntil: new Date(claim.now.getTime() + claim.leaseMs),
            lastError: null,
            lastErrorCode: null,
            result: null,
            createdAt: asDate(row.created_at),
            updatedAt: claim.now,
            finishedAt: null
        });
        return { notify: false };
    }
    if (claim !== undefined) claim.pending = true;
    return { notify: job.streamId !== undefined };
}

/** The call that wakes every instance's outbox worker when the transaction commits (`SELECT` it). */
export const OUTBOX_NOTIFY_CALL = `pg_notify('${OUTBOX_CHANNEL}:' || current_schema(), '')`;

/**
 * Adds a job inside the caller's transaction. With `claim` (see DirectClaim) a due job with no earlier
 * unfinished job of its key is inserted already leased to that worker and added to `claim.claimed`; a
 * job that must wait stays `pending` and sets `claim.pending`.
 */
export async function enqueue(
    q: Queryable,
    job: NewOutboxJob,
    claim?: DirectClaim
): Promise<{ id: string; duplicate: boolean }> {
    const insert = jobInsert(job, claim);
    const row = (await q.query<InsertedJobRow>(insert.sql, insert.params)).rows[0];
    if (row !== undefined) {
        // Another instance may read this chat's stream and so be the one to run the job: wake it at commit.
        if (afterInsert(job, row, insert.payload, claim).notify) await q.query(`SELECT ${OUTBOX_NOTIFY_CALL}`);
        return { id: String(row.id), duplicate: false };
    }
    const existing = await q.query<{ id: string }>('SELECT id FROM outbox_jobs WHERE idempotency_key = $1', [
        job.idempotencyKey ?? null
    ]);
    return { id: String(existing.rows[0]!.id), duplicate: true };
}

/**
 * Leases up to `limit` due jobs (at most one per ordering key) to `workerId` until now + leaseMs.
 * SKIP LOCKED lets several workers claim side by side without waiting on each other's rows.
 */
export async function claimJobs(
    q: Queryable,
    options: {
        now: Date;
        leaseMs: number;
        limit: number;
        workerId: string;
        /** Only jobs of these kinds (used to fill a batch); default: any kind. */
        kinds?: readonly string[] | undefined;
        /**
         * This worker's bridge instance (stream-leases.ts). A job bound to an open chat's stream is claimed
         * only by the instance reading that stream; while nobody does (its reader died or shut down), it
         * waits the few seconds until another instance takes the stream over. A chat not opened yet, or
         * over with nobody alive reading it, leaves its jobs to anyone. Unset: stream bindings are ignored.
         */
        instanceId?: string | undefined;
    }
): Promise<OutboxJob[]> {
    const leaseUntil = new Date(options.now.getTime() + options.leaseMs);
    const kinds = options.kinds === undefined ? null : jsonParam(options.kinds);
    const result = await q.query<OutboxRow>(
        `WITH candidate AS (
             SELECT j.id FROM outbox_jobs j
             WHERE ((j.state = 'pending' AND (j.run_at IS NULL OR j.run_at <= $1::timestamptz))
                    OR (j.state = 'running' AND j.locked_until <= $1::timestamptz))
               AND ($5::jsonb IS NULL OR $5::jsonb ? j.kind)
               AND (j.stream_id IS NULL OR $6::text IS NULL OR EXISTS (
                   SELECT 1 FROM handover_sessions h
                   WHERE h.id = j.stream_id
                     AND (h.stream_owner = $6 OR h.stream_epoch = 0
                          OR (h.state IN ('ended', 'failed') AND NOT EXISTS (
                              SELECT 1 FROM bridge_instances i
                              WHERE i.id = h.stream_owner AND i.expires_at > now())))))
               AND NOT EXISTS (
                   SELECT 1 FROM outbox_jobs earlier
                   WHERE earlier.ordering_key = j.ordering_key
                     AND earlier.id < j.id
                     AND earlier.state IN ('pending', 'running'))
             ORDER BY j.id
             LIMIT $3
             FOR UPDATE SKIP LOCKED
         )
         UPDATE outbox_jobs j
         SET state = 'running', attempts = j.attempts + 1, locked_until = $2::timestamptz,
             locked_by = $4, updated_at = $1::timestamptz
         FROM candidate WHERE j.id = candidate.id
         RETURNING j.*`,
        [
            options.now.toISOString(),
            leaseUntil.toISOString(),
            options.limit,
            options.workerId,
            kinds,
            options.instanceId ?? null
        ]
    );
    return result.rows.map(toJob).sort((a, b) => compareIds(a.id, b.id));
}

/**
 * Extends the leases of the jobs `workerId` is still executing (each fenced by its attempt), so a live
 * worker's slow call is not taken over while a dead worker's jobs are, one short lease after it stopped
 * renewing. Only the jobs named: a job whose outcome could not be written is not executing any more, and
 * must lose its lease so that it runs again and the later jobs of its key are not held back for good.
 */
export async function renewJobLeases(
    q: Queryable,
    options: { workerId: string; now: Date; leaseMs: number; jobs: readonly ClaimedJob[] }
): Promise<number> {
    if (options.jobs.length === 0) return 0;
    const items = options.jobs.map((job) => ({ id: job.id, attempts: job.attempts }));
    const updated = await q.query(
        `UPDATE outbox_jobs j SET locked_until = $2::timestamptz
         FROM jsonb_array_elements($3::jsonb) AS e(item)
         WHERE j.id = (e.item ->> 'id')::bigint AND j.attempts = (e.item ->> 'attempts')::integer
           AND j.state = 'running' AND j.locked_by = $1`,
        [options.workerId, new Date(options.now.getTime() + options.leaseMs).toISOString(), jsonParam(items)]
    );
    return updated.affectedRows;
}

/**
 * Makes every running job claimable now. Only for a database no other live worker uses (the embedded
 * one): its running jobs belong to a run that crashed, and need not wait for their leases.
 */
export async function releaseStaleJobs(q: Queryable, now: Date): Promise<number> {
    const updated = await q.query(
        `UPDATE outbox_jobs SET locked_until = $1::timestamptz WHERE state = 'running' AND locked_until > $1::timestamptz`,
        [now.toISOString()]
    );
    return updated.affectedRows;
}

/**
 * Records success with the handler's JSON-serialisable result (kept for `awaitJob`); false when the
 * lease was lost to a newer attempt (that attempt decides).
 */
export async function completeJob(q: Queryable, job: ClaimedJob, now: Date, result?: unknown): Promise<boolean> {
    const updated = await q.query(
        `UPDATE outbox_jobs SET state = 'done', locked_until = NULL, locked_by = NULL, result = $4::jsonb,
             updated_at = $3::timestamptz, finished_at = $3::timestamptz
         WHERE id = $1 AND state = 'running' AND attempts = $2`,
        [job.id, job.attempts, now.toISOString(), storableJsonParam(result ?? null)]
    );
    return updated.affectedRows === 1;
}

/**
 * Records success for many jobs in one statement (the worker coalesces outcomes that finish close
 * together, so a busy outbox pays one round trip for several jobs). Each job is fenced by its attempt
 * exactly as in completeJob; answers the ids that were recorded (a job missing from it lost its lease).
 * Results are made storable first (storableJsonParam), so one odd answer cannot fail the whole batch.
 */
export async function completeJobs(
    q: Queryable,
    jobs: ReadonlyArray<{ job: ClaimedJob; result?: unknown }>,
    now: Date
): Promise<Set<string>> {
    if (jobs.length === 0) return new Set();
    const items = jobs.map(({ job, result }) => ({ id: job.id, attempts: job.attempts, result: result ?? null }));
    const updated = await q.query<{ id: string }>(
        `UPDATE outbox_jobs j SET state = 'done', locked_until = NULL, locked_by = NULL, result = e.item -> 'result',
             updated_at = $2::timestamptz, finished_at = $2::timestamptz
         FROM jsonb_array_elements($1::jsonb) AS e(item)
         WHERE j.id = (e.item ->> 'id')::bigint AND j.state = 'running' AND j.attempts = (e.item ->> 'attempts')::integer
         RETURNING j.id`,
        [storableJsonParam(items), now.toISOString()]
    );
    return new Set(updated.rows.map((row) => String(row.id)));
}

export interface AwaitedJob {
    /** `pending`/`running` when the timeout passed first. */
    state: OutboxState;
    /** The handler's result once `done`, else null. */
    result: unknown;
    lastErrorCode: string | null;
}

/**
 * Waits until a job is done or dead, or the timeout passes (then resolves with the state it has).
 * It polls with short single statements and holds no transaction, so the worker can finish the job
 * meanwhile. A job that does not exist resolves as `dead` with `bridge_outbox_job_missing`.
 */
export async function awaitJob(
    db: Db,
    jobId: string,
    options: { timeoutMs: number; pollMs?: number }
): Promise<AwaitedJob> {
    const pollMs = Math.max(1, options.pollMs ?? 25);
    const deadline = performance.now() + Math.max(0, options.timeoutMs);
    for (;;) {
        const rows = await db.query<{ state: OutboxState; result: unknown; last_error_code: string | null }>(
            'SELECT state, result, last_error_code FROM outbox_jobs WHERE id = $1',
            [jobId]
        );
        const row = rows.rows[0];
        if (row === undefined) return { state: 'dead', result: null, lastErrorCode: 'bridge_outbox_job_missing' };
        const finished = row.state === 'done' || row.state === 'dead';
        const left = deadline - performance.now();
        if (finished || left <= 0) {
            return {
                state: row.state,
                result: row.state === 'done' ? (row.result ?? null) : null,
                lastErrorCode: row.last_error_code
            };
        }
        await new Promise<void>((resolve) => setTimeout(resolve, Math.min(pollMs, left)));
    }
}

/** Puts a failed job back to wait until `runAt`. */
export async function rescheduleJob(
    q: Queryable,
    job: ClaimedJob,
    outcome: { now: Date; runAt: Date; error: JobError }
): Promise<boolean> {
    const result = await q.query(
        `UPDATE outbox_jobs SET state = 'pending', run_at = $3::timestamptz, locked_until = NULL, locked_by = NULL,
             last_error = $4, last_error_code = $5, updated_at = $6::timestamptz
         WHERE id = $1 AND state = 'running' AND attempts = $2`,
        [
            job.id,
            job.attempts,
            outcome.runAt.toISOString(),
            outcome.error.message.slice(0, MAX_ERROR_TEXT),
            outcome.error.code,
            outcome.now.toISOString()
        ]
    );
    return result.affectedRows === 1;
}

/**
 * Puts a job back to wait until `runAt` because the remote asked it to wait (a rate limit), not because
 * it failed: the attempt is given back, so a busy conversation is never dead-lettered for waiting.
 */
export async function deferJob(q: Queryable, job: ClaimedJob, outcome: { now: Date; runAt: Date }): Promise<boolean> {
    const result = await q.query(
        `UPDATE outbox_jobs SET state = 'pending', run_at = $3::timestamptz, attempts = attempts - 1,
             locked_until = NULL, locked_by = NULL, updated_at = $4::timestamptz
         WHERE id = $1 AND state = 'running' AND attempts = $2`,
        [job.id, job.attempts, outcome.runAt.toISOString(), outcome.now.toISOString()]
    );
    return result.affectedRows === 1;
}

/** Gives up on a job: it stays as `dead` for an operator to inspect and retry. */
export async function deadLetterJob(
    q: Queryable,
    job: ClaimedJob,
    outcome: { now: Date; error: JobError }
): Promise<boolean> {
    const result = await q.query(
        `UPDATE outbox_jobs SET state = 'dead', locked_until = NULL, locked_by = NULL,
             last_error = $3, last_error_code = $4, updated_at = $5::timestamptz, finished_at = $5::timestamptz
         WHERE id = $1 AND state = 'running' AND attempts = $2`,
        [
            job.id,
            job.attempts,
            outcome.error.message.slice(0, MAX_ERROR_TEXT),
            outcome.error.code,
            outcome.now.toISOString()
        ]
    );
    return result.affectedRows === 1;
}

const MAX_BIGINT = 9_223_372_036_854_775_807n;

/** Whether an id (e.g. from a URL) can name a job: a positive bigint, written plainly; else no job has it. */
export function isOutboxJobId(id: string): boolean {
    return /^[1-9][0-9]{0,18}$/.test(id) && BigInt(id) <= MAX_BIGINT;
}

export async function getOutboxJob(q: Queryable, id: string): Promise<OutboxJob | undefined> {
    if (!isOutboxJobId(id)) return undefined;
    const result = await q.query<OutboxRow>('SELECT * FROM outbox_jobs WHERE id = $1', [id]);
    const row = result.rows[0];
    return row === undefined ? undefined : toJob(row);
}

/** Dead letters, oldest first. */
export async function listDeadJobs(q: Queryable, limit = 100): Promise<OutboxJob[]> {
    const result = await q.query<OutboxRow>(`SELECT * FROM outbox_jobs WHERE state = 'dead' ORDER BY id LIMIT $1`, [
        limit
    ]);
    return result.rows.map(toJob);
}

/** Sends a dead job back to the queue with a fresh attempt budget; false if it is not dead. */
export async function retryDeadJob(q: Queryable, id: string): Promise<boolean> {
    if (!isOutboxJobId(id)) return false;
    const result = await q.query(
        `UPDATE outbox_jobs SET state = 'pending', attempts = 0, run_at = NULL, finished_at = NULL, updated_at = now()
         WHERE id = $1 AND state = 'dead'`,
        [id]
    );
    return result.affectedRows === 1;
}

/** Retries every dead job; returns how many. */
export async function retryAllDead(q: Queryable): Promise<number> {
    const result = await q.query(
        `UPDATE outbox_jobs SET state = 'pending', attempts = 0, run_at = NULL, finished_at = NULL, updated_at = now()
         WHERE state = 'dead'`
    );
    return result.affectedRows;
}

/**
 * How many jobs are open and dead. Counted through the partial indexes of open and dead jobs, so the
 * cost follows those, not the finished jobs kept for the retention period (a `state <> 'done'` filter
 * read the whole table: ~30 ms at 100,000 finished jobs on PGlite, on every poll).
 */
export async function outboxDepth(q: Queryable): Promise<OutboxDepth> {
    const result = await q.query<{ pending: string; running: string; dead: string }>(
        `SELECT count(*) FILTER (WHERE state = 'pending')::text AS pending,
                count(*) FILTER (WHERE state = 'running')::text AS running,
                (SELECT count(*) FROM outbox_jobs WHERE state = 'dead')::text AS dead
         FROM outbox_jobs WHERE state IN ('pending', 'running')`
    );
    const row = result.rows[0];
    return { pending: Number(row?.pending ?? 0), running: Number(row?.running ?? 0), dead: Number(row?.dead ?? 0) };
}

/** Deletes finished jobs older than the given time; returns how many. */
export async function pruneDoneJobs(q: Queryable, finishedBefore: Date): Promise<number> {
    const result = await q.query(`DELETE FROM outbox_jobs WHERE state = 'done' AND finished_at < $1::timestamptz`, [
        finishedBefore.toISOString()
    ]);
    return result.affectedRows;
}

function compareIds(a: string, b: string): number {
    return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

function toJob(row: OutboxRow): OutboxJob {
    return {
        id: String(row.id),
        kind: row.kind,
        orderingKey: row.ordering_key,
        payload: row.payload,
        idempotencyKey: row.idempotency_key,
        state: row.state,
        attempts: Number(row.attempts),
        runAt: asOptionalDate(row.run_at),
        lockedUntil: asOptionalDate(row.locked_until),
        lastError: row.last_error,
        lastErrorCode: row.last_error_code,
        result: row.result ?? null,
        createdAt: asDate(row.created_at),
        updatedAt: asDate(row.updated_at),
        finishedAt: asOptionalDate(row.finished_at)
    };
}
