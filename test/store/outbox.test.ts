import type { Db } from '../../bridge/src/store/db';
import {
    claimJobs,
    completeJob,
    completeJobs,
    enqueue,
    getOutboxJob,
    listDeadJobs,
    outboxDepth,
    retryAllDead,
    retryDeadJob
} from '../../bridge/src/store/outbox';
import type { OutboxJob } from '../../bridge/src/store/outbox';
import { backoffDelayMs, createOutboxWorker, permanentFailure } from '../../bridge/src/store/outbox-worker';
import type { OutboxHandlers, OutboxWorkerOptions } from '../../bridge/src/store/outbox-worker';
import { BridgeError } from '../../bridge/src/core/errors';
import { createMetrics } from '../../bridge/src/observability/metrics';
import type { Metrics } from '../../bridge/src/observability/metrics';
import { databaseTargets } from '../support/databases';
import { silentLogger } from '../../bridge/src/observability/logger';
import { captureLogger, ManualClock } from '../support/test-clock-and-log';
import { eventually } from '../support/eventually';
import { metricValue as recordedMetric } from '../salesforce/helpers';

/** A metric's value, 0 while nothing was recorded under these labels. */
async function metricValue(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
    return (await recordedMetric(metrics, name, labels)) ?? 0;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(databaseTargets())('outbox on $name', (target) => {
    let db: Db;
    let clock: ManualClock;
    let metrics: Metrics;

    beforeAll(async () => {
        db = await target.open();
    });

    afterAll(async () => {
        await db.close();
    });

    beforeEach(async () => {
        await db.query('DELETE FROM outbox_jobs');
        clock = new ManualClock();
        metrics = createMetrics();
    });

    function worker(handlers: OutboxHandlers, overrides: Partial<OutboxWorkerOptions> = {}) {
        return createOutboxWorker({
            db,
            handlers,
            clock,
            logger: silentLogger(),
            metrics,
            concurrency: 4,
            pollIntervalMs: 50,
            leaseMs: 30_000,
            maxAttempts: 5,
            backoff: { baseMs: 1000, maxMs: 60_000 },
            random: () => 0.5,
            // Several workers share the database in these tests, as separate processes would.
            exclusiveDatabase: false,
            ...overrides
        });
    }

    it('enqueues inside a transaction and treats a repeated idempotency key as a no-op', async () => {
        const first = await db.transaction((tx) =>
            enqueue(tx, { kind: 'send', orderingKey: 'user-1', payload: { text: 'hi' }, idempotencyKey: 'msg-1' })
        );
        const again = await enqueue(db, {
            kind: 'send',
            orderingKey: 'user-1',
            payload: { text: 'other' },
            idempotencyKey: 'msg-1'
        });
        await expect(
            db.transaction(async (tx) => {
                await enqueue(tx, { kind: 'send', orderingKey: 'user-1', payload: {}, idempotencyKey: 'msg-2' });
                throw new Error('state change failed');
            })
        ).rejects.toThrow('state change failed');

        expect(first.duplicate).toBe(false);
        expect(again).toEqual({ id: first.id, duplicate: true });
        expect(await outboxDepth(db)).toEqual({ pending: 1, running: 0, dead: 0 });
        expect((await getOutboxJob(db, first.id))!.payload).toEqual({ text: 'hi' });
    });

    it('counts open and dead jobs by state, whatever the finished jobs', async () => {
        for (const [i, state] of ['pending', 'pending', 'running', 'dead', 'done', 'done', 'done'].entries()) {
            const { id } = await enqueue(db, { kind: 'send', orderingKey: `depth-${i}`, payload: {} });
            if (state !== 'pending') await db.query('UPDATE outbox_jobs SET state = $2 WHERE id = $1', [id, state]);
        }
        expect(await outboxDepth(db)).toEqual({ pending: 2, running: 1, dead: 1 });
    });

    it('runs due jobs, passes the idempotency key, and counts them', async () => {
        const seen: Array<{ payload: unknown; key: string; attempt: number }> = [];
        const w = worker({
            send: (payload, ctx) => {
                seen.push({ payload, key: ctx.idempotencyKey, attempt: ctx.attempt });
                return Promise.resolve();
            }
        });
        const keyed = await enqueue(db, { kind: 'send', orderingKey: 'u', payload: ['a'], idempotencyKey: 'k-1' });
        const plain = await enqueue(db, { kind: 'send', orderingKey: 'v', payload: { b: 2 } });
        const later = await enqueue(db, {
            kind: 'send',
            orderingKey: 'w',
            payload: 'later',
            runAt: new Date(clock.now().getTime() + 5000)
        });

        expect(await w.drain()).toBe(2);
        expect(seen).toEqual([
            { payload: ['a'], key: 'k-1', attempt: 1 },
            { payload: { b: 2 }, key: `outbox:${plain.id}`, attempt: 1 }
        ]);
        expect((await getOutboxJob(db, keyed.id))!.state).toBe('done');
        expect((await getOutboxJob(db, later.id))!.state).toBe('pending');

        clock.advance(5000);
        expect(await w.drain()).toBe(1);
        expect(await metricValue(metrics, 'bridge_outbox_job_attempts_total', { kind: 'send', outcome: 'done' })).toBe(
            3
        );
        expect(await metricValue(metrics, 'bridge_outbox_jobs', { state: 'pending' })).toBe(0);
    });

    it('retries a failing job with exponential backoff on the clock', async () => {
        let calls = 0;
        const w = worker(
            {
                flaky: () => {
                    calls += 1;
                    return calls <= 2 ? Promise.reject(new Error('503 from Haptik')) : Promise.resolve();
                }
            },
            { random: () => 0.999 }
        );
        const { id } = await enqueue(db, { kind: 'flaky', orderingKey: 'u', payload: {} });

        expect(await w.runOnce()).toBe(1);
        const afterFirst = await getOutboxJob(db, id);
        expect(afterFirst).toMatchObject({
            state: 'pending',
            attempts: 1,
            lastError: '503 from Haptik',
            lastErrorCode: 'Error'
        });
        expect(afterFirst!.runAt!.getTime() - clock.now().getTime()).toBe(
            backoffDelayMs(1, { baseMs: 1000, maxMs: 60_000 }, () => 0.999)
        );
        expect(await w.runOnce()).toBe(0);

        clock.advance(999);
        expect(await w.runOnce()).toBe(1);
        expect((await getOutboxJob(db, id))!.runAt!.getTime() - clock.now().getTime()).toBe(1998);
        clock.advance(1997);
        expect(await w.runOnce()).toBe(0);
        clock.advance(1);
        expect(await w.runOnce()).toBe(1);
        expect(await getOutboxJob(db, id)).toMatchObject({ state: 'done', attempts: 3 });
        expect(calls).toBe(3);
        expect(
            await metricValue(metrics, 'bridge_outbox_job_attempts_total', { kind: 'flaky', outcome: 'retry' })
        ).toBe(2);
    });

    it('dead-letters after the last attempt with one log line that holds no payload', async () => {
        const capture = captureLogger();
        let calls = 0;
        const w = worker(
            {
                send: () => {
                    calls += 1;
                    return Promise.reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
                }
            },
            { maxAttempts: 3, random: () => 0, logger: capture.logger }
        );
        const { id } = await enqueue(db, {
            kind: 'send',
            orderingKey: 'u',
            payload: { text: 'Alice Example, card 4111' }
        });

        expect(await w.drain()).toBe(3);
        expect(calls).toBe(3);
        expect(await getOutboxJob(db, id)).toMatchObject({ state: 'dead', attempts: 3, lastErrorCode: 'ECONNRESET' });
        expect(await metricValue(metrics, 'bridge_outbox_dead_letters_total', { kind: 'send' })).toBe(1);
        expect(await metricValue(metrics, 'bridge_outbox_jobs', { state: 'dead' })).toBe(1);

        const errors = capture.lines().filter((line) => line['level'] === 'error');
        expect(errors).toHaveLength(1);
        expect(errors[0]).toMatchObject({
            msg: 'outbox job dead-lettered',
            jobId: id,
            kind: 'send',
            attempts: 3,
            errorCode: 'ECONNRESET',
            errorMessage: 'socket hang up'
        });
        expect(capture.lines().some((line) => JSON.stringify(line).includes('Alice'))).toBe(false);
    });

    it('dead-letters a permanent failure at once', async () => {
        let calls = 0;
        const w = worker({
            marked: () => {
                calls += 1;
                return Promise.reject(permanentFailure(new Error('400 invalid user_id')));
            },
            coded: () => {
                calls += 1;
                return Promise.reject(
                    new BridgeError('bridge_haptik_rejected', 'Haptik said 400', {
                        details: { status: 400, retryable: false }
                    })
                );
            }
        });
        const marked = await enqueue(db, { kind: 'marked', orderingKey: 'a', payload: {} });
        const coded = await enqueue(db, { kind: 'coded', orderingKey: 'b', payload: {} });
        const unknown = await enqueue(db, { kind: 'no-such-kind', orderingKey: 'c', payload: {} });

        expect(await w.drain()).toBe(3);
        expect(calls).toBe(2);
        expect(await getOutboxJob(db, marked.id)).toMatchObject({
            state: 'dead',
            attempts: 1,
            lastErrorCode: 'bridge_outbox_permanent'
        });
        expect(await getOutboxJob(db, coded.id)).toMatchObject({
            state: 'dead',
            attempts: 1,
            lastErrorCode: 'bridge_haptik_rejected'
        });
        expect(await getOutboxJob(db, unknown.id)).toMatchObject({
            state: 'dead',
            lastErrorCode: 'bridge_outbox_unknown_kind'
        });
        expect(await metricValue(metrics, 'bridge_outbox_dead_letters_total', { kind: 'marked' })).toBe(1);
    });

    it('lets an operator retry dead jobs, one or all', async () => {
        let healthy = false;
        const ran: string[] = [];
        const w = worker({
            send: (payload) => {
                if (!healthy) return Promise.reject(permanentFailure(new Error('remote down')));
                ran.push(String(payload));
                return Promise.resolve();
            }
        });
        const a = await enqueue(db, { kind: 'send', orderingKey: 'a', payload: 'a' });
        await enqueue(db, { kind: 'send', orderingKey: 'b', payload: 'b' });
        await enqueue(db, { kind: 'send', orderingKey: 'c', payload: 'c' });
        await w.drain();
        expect((await listDeadJobs(db)).map((j) => j.payload)).toEqual(['a', 'b', 'c']);

        healthy = true;
        expect(await retryDeadJob(db, a.id)).toBe(true);
        expect(await retryDeadJob(db, a.id)).toBe(false);
        expect(await getOutboxJob(db, a.id)).toMatchObject({ state: 'pending', attempts: 0 });
        await w.drain();
        expect(ran).toEqual(['a']);

        expect(await retryAllDead(db)).toBe(2);
        await w.drain();
        expect(ran.sort()).toEqual(['a', 'b', 'c']);
        expect(await listDeadJobs(db)).toEqual([]);
        expect(await outboxDepth(db)).toEqual({ pending: 0, running: 0, dead: 0 });
    });

    it('runs a job again when its worker crashed between claim and completion', async () => {
        const attempts: number[] = [];
        const w = worker({
            send: (_payload, ctx) => {
                attempts.push(ctx.attempt);
                return Promise.resolve();
            }
        });
        const { id } = await enqueue(db, { kind: 'send', orderingKey: 'u', payload: {}, idempotencyKey: 'once' });

        // A worker claims the job and dies without recording anything.
        const [abandoned] = await claimJobs(db, { now: clock.now(), leaseMs: 30_000, limit: 10, workerId: 'crashed' });
        expect(abandoned).toMatchObject({ id, state: 'running', attempts: 1 });
        expect(await w.runOnce()).toBe(0);

        clock.advance(29_999);
        expect(await w.runOnce()).toBe(0);
        clock.advance(2);
        expect(await w.runOnce()).toBe(1);
        expect(attempts).toEqual([2]);
        expect(await getOutboxJob(db, id)).toMatchObject({ state: 'done', attempts: 2 });
        // The crashed worker coming back late cannot overwrite the newer attempt.
        expect(await completeJob(db, abandoned!, clock.now())).toBe(false);
    });

    it('records many successes in one statement, each fenced by its attempt', async () => {
        for (const key of ['a', 'b', 'c']) await enqueue(db, { kind: 'send', orderingKey: key, payload: key });
        const claimed = await claimJobs(db, { now: clock.now(), leaseMs: 30_000, limit: 10, workerId: 'w1' });
        expect(claimed).toHaveLength(3);
        const [a, b, c] = claimed as [OutboxJob, OutboxJob, OutboxJob];
        // The leases pass and another worker takes a over: the first worker's outcome for a must not count.
        clock.advance(30_001);
        const [takenOver] = await claimJobs(db, { now: clock.now(), leaseMs: 30_000, limit: 1, workerId: 'w2' });
        expect(takenOver).toMatchObject({ id: a.id, attempts: 2 });
        const recorded = await completeJobs(
            db,
            [{ job: a, result: { n: 1 } }, { job: b, result: 'two' }, { job: c }],
            clock.now()
        );
        expect([...recorded].sort()).toEqual([b.id, c.id].sort());
        expect(await getOutboxJob(db, a.id)).toMatchObject({ state: 'running', attempts: 2 });
        expect(await getOutboxJob(db, b.id)).toMatchObject({ state: 'done', result: 'two' });
        expect(await getOutboxJob(db, c.id)).toMatchObject({ state: 'done', result: null });
        expect(await completeJobs(db, [], clock.now())).toEqual(new Set());
    });

    it('holds later jobs of a key back while an earlier one waits to retry', async () => {
        const ran: string[] = [];
        let failOnce = true;
        const w = worker(
            {
                send: (payload) => {
                    if (payload === 'first' && failOnce) {
                        failOnce = false;
                        return Promise.reject(new Error('timeout'));
                    }
                    ran.push(String(payload));
                    return Promise.resolve();
                }
            },
            { random: () => 0.999 }
        );
        await enqueue(db, { kind: 'send', orderingKey: 'user', payload: 'first' });
        await enqueue(db, { kind: 'send', orderingKey: 'user', payload: 'second' });
        await enqueue(db, { kind: 'send', orderingKey: 'other', payload: 'independent' });

        await w.drain();
        expect(ran).toEqual(['independent']);
        clock.advance(1000);
        await w.drain();
        expect(ran).toEqual(['independent', 'first', 'second']);
    });

    it('does not let a dead job block later jobs of its key', async () => {
        const ran: string[] = [];
        const w = worker({
            send: (payload) => {
                if (payload === 'poison') return Promise.reject(permanentFailure(new Error('cannot be sent')));
                ran.push(String(payload));
                return Promise.resolve();
            }
        });
        const poison = await enqueue(db, { kind: 'send', orderingKey: 'user', payload: 'poison' });
        await enqueue(db, { kind: 'send', orderingKey: 'user', payload: 'next' });
        await enqueue(db, { kind: 'send', orderingKey: 'user', payload: 'last' });

        await w.drain();
        expect(ran).toEqual(['next', 'last']);
        expect((await getOutboxJob(db, poison.id))!.state).toBe('dead');
    });

    it('keeps per-key order and runs every job exactly once with several concurrent workers', async () => {
        const keys = ['user-a', 'user-b', 'user-c'];
        const perKey = 30;
        const expected = new Map(keys.map((key) => [key, [] as string[]]));
        // Interleave the keys, as real traffic would.
        for (let i = 0; i < perKey; i += 1) {
            for (const key of keys) {
                const { id } = await enqueue(db, { kind: 'send', orderingKey: key, payload: { key, i } });
                expected.get(key)!.push(id);
            }
        }
        const order = new Map(keys.map((key) => [key, [] as string[]]));
        const running = new Set<string>();
        let overlaps = 0;
        let finished = 0;
        let allDone: () => void = () => undefined;
        const done = new Promise<void>((resolve) => {
            allDone = resolve;
        });
        const realClock = { now: () => new Date() };
        const handlers: OutboxHandlers = {
            send: async (_payload, ctx) => {
                if (running.has(ctx.orderingKey)) overlaps += 1;
                running.add(ctx.orderingKey);
                order.get(ctx.orderingKey)!.push(ctx.jobId);
                await sleep(Math.floor(Math.random() * 4));
                running.delete(ctx.orderingKey);
                finished += 1;
                if (finished === keys.length * perKey) allDone();
            }
        };
        const workers = [1, 2, 3].map((n) =>
            worker(handlers, { clock: realClock, concurrency: 3, pollIntervalMs: 10, workerId: `w${n}` })
        );
        workers.forEach((w) => w.start());
        await done;
        await Promise.all(workers.map((w) => w.stop()));

        expect(overlaps).toBe(0);
        for (const key of keys) expect(order.get(key)).toEqual(expected.get(key));
        const states = await db.query<{ state: string; n: string }>(
            `SELECT state, count(*)::text AS n FROM outbox_jobs GROUP BY state`
        );
        expect(states.rows).toEqual([{ state: 'done', n: String(keys.length * perKey) }]);
    });

    it('renews the leases of running jobs, so a slow call of a live worker is not taken over', async () => {
        let release: () => void = () => undefined;
        const gate = new Promise<void>((resolve) => {
            release = resolve;
        });
        let runs = 0;
        const slow = async (): Promise<void> => {
            runs += 1;
            await gate;
        };
        const realClock = { now: () => new Date() };
        const live = worker({ slow }, { clock: realClock, leaseMs: 450, pollIntervalMs: 20 });
        const other = worker({ slow }, { clock: realClock, leaseMs: 450, pollIntervalMs: 20 });
        live.start();
        const { id } = await enqueue(db, { kind: 'slow', orderingKey: 'u', payload: {} });
        await eventually(() => (runs === 1 ? true : undefined));
        other.start();
        // Several lease lengths pass while the call runs; the other worker looks every 20 ms meanwhile.
        await sleep(1500);
        const during = await getOutboxJob(db, id);
        release();
        await Promise.all([live.stop(), other.stop()]);
        expect(runs).toBe(1);
        expect(during).toMatchObject({ state: 'running', attempts: 1 });
        expect(await getOutboxJob(db, id)).toMatchObject({ state: 'done', attempts: 1 });
    });

    it('on a database of its own, takes back at start the jobs a crashed run had claimed', async () => {
        const sent: string[] = [];
        const { id } = await enqueue(db, { kind: 'send', orderingKey: 'u', payload: 'again' });
        await claimJobs(db, { now: clock.now(), leaseMs: 30_000, limit: 10, workerId: 'crashed-run' });
        const w = worker(
            {
                send: (payload) => {
                    sent.push(String(payload));
                    return Promise.resolve();
                }
            },
            { exclusiveDatabase: true }
        );
        w.start();
        await eventually(() => (sent.length === 1 ? true : undefined));
        await w.stop();
        expect(await getOutboxJob(db, id)).toMatchObject({ state: 'done', attempts: 2 });
    });

    it('wakes on notify and finishes the running job before stop() resolves', async () => {
        let release: () => void = () => undefined;
        const gate = new Promise<void>((resolve) => {
            release = resolve;
        });
        let started: () => void = () => undefined;
        const startedSignal = new Promise<void>((resolve) => {
            started = resolve;
        });
        const w = worker(
            {
                slow: async () => {
                    started();
                    await gate;
                }
            },
            { clock: { now: () => new Date() }, pollIntervalMs: 60_000 }
        );
        w.start();
        const { id } = await enqueue(db, { kind: 'slow', orderingKey: 'u', payload: {} });
        w.notify();
        await startedSignal;

        let stopped = false;
        const stopping = w.stop().then(() => {
            stopped = true;
        });
        await sleep(5);
        expect(stopped).toBe(false);
        release();
        await stopping;
        expect((await getOutboxJob(db, id))!.state).toBe('done');
    });
});

describe('backoff', () => {
    it('grows exponentially up to the cap, scaled by the jitter', () => {
        const settings = { baseMs: 1000, maxMs: 10_000 };
        expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(n, settings, () => 0.5))).toEqual([
            500, 1000, 2000, 4000, 5000, 5000
        ]);
        expect(backoffDelayMs(3, settings, () => 0)).toBe(0);
    });
});
