/**
 * Outbox durability (issue 16): a job whose completion write failed must not keep its lease (and block its
 * ordering key) while other jobs of the worker run; one bad completion must not fail the others written
 * with it; a job may ask to run again later without holding a slot or spending an attempt.
 */
import type { Db } from '../../bridge/src/store/db';
import { claimJobs, completeJobs, enqueue, getOutboxJob } from '../../bridge/src/store/outbox';
import { createOutboxWorker } from '../../bridge/src/store/outbox-worker';
import { BridgeError } from '../../bridge/src/core/errors';
import type { OutboxHandlers, OutboxWorkerOptions } from '../../bridge/src/store/outbox-worker';
import { silentLogger } from '../../bridge/src/observability/logger';
import { databaseTargets } from '../support/databases';
import { eventually } from '../support/eventually';

const realClock = { now: () => new Date() };

/** The database, with the next `count` statements that match `pattern` failing as a lost connection would. */
function faultyDb(db: Db): { db: Db; failNext(pattern: RegExp, count?: number): void } {
    const faults: Array<{ pattern: RegExp; left: number }> = [];
    const check = (sql: string): void => {
        const fault = faults.find((f) => f.left > 0 && f.pattern.test(sql));
        if (fault === undefined) return;
        fault.left -= 1;
        throw new Error('Connection terminated unexpectedly');
    };
    return {
        db: {
            kind: db.kind,
            query: async (sql, params) => {
                check(sql);
                return db.query(sql, params);
            },
            transaction: (fn) =>
                db.transaction((tx) =>
                    fn({
                        query: async (sql, params) => {
                            check(sql);
                            return tx.query(sql, params);
                        }
                    })
                ),
            close: () => db.close()
        },
        failNext(pattern, count = 1) {
            faults.push({ pattern, left: count });
        }
    };
}

describe.each(databaseTargets())('outbox durability on $name', (target) => {
    let db: Db;

    beforeAll(async () => {
        db = await target.open();
    });
    afterAll(async () => {
        await db.close();
    });
    beforeEach(async () => {
        await db.query('DELETE FROM outbox_jobs');
    });

    function worker(on: Db, handlers: OutboxHandlers, overrides: Partial<OutboxWorkerOptions> = {}) {
        return createOutboxWorker({
            db: on,
            handlers,
            clock: realClock,
            logger: silentLogger(),
            concurrency: 4,
            pollIntervalMs: 20,
            leaseMs: 300,
            maxAttempts: 5,
            backoff: { baseMs: 10, maxMs: 50 },
            exclusiveDatabase: false,
            ...overrides
        });
    }

    it('lets a job whose completion write failed lose its lease while other jobs run, so its key goes on', async () => {
        const faulty = faultyDb(db);
        const ran: string[] = [];
        let running = 0;
        let overlapped = false;
        let releaseSlow: () => void = () => undefined;
        const slowGate = new Promise<void>((resolve) => {
            releaseSlow = resolve;
        });
        const w = worker(faulty.db, {
            send: async (payload) => {
                if (payload === 'A1') {
                    running += 1;
                    if (running > 1) overlapped = true;
                    await new Promise((resolve) => setTimeout(resolve, 5));
                    running -= 1;
                }
                ran.push(String(payload));
            },
            // Steady traffic on another key: a job in flight the whole time.
            slow: async () => {
                await slowGate;
            }
        });
        await enqueue(db, { kind: 'slow', orderingKey: 'B', payload: 'B1' });
        const a1 = await enqueue(db, { kind: 'send', orderingKey: 'A', payload: 'A1' });
        const a2 = await enqueue(db, { kind: 'send', orderingKey: 'A', payload: 'A2' });
        // A1's success cannot be written (the database blinked), together or alone: its row stays `running`.
        faulty.failNext(/SET state = 'done'/, 2);
        w.start();
        try {
            // A2 runs while B1 is still in flight: A1's lease ran out, A1 ran again, and its key went on.
            await eventually(() => (ran.includes('A2') ? true : undefined), 10_000);
            expect(await getOutboxJob(db, a1.id)).toMatchObject({ state: 'done', attempts: 2 });
            expect(await getOutboxJob(db, a2.id)).toMatchObject({ state: 'done', attempts: 1 });
            expect(ran.filter((p) => p !== 'B1')).toEqual(['A1', 'A1', 'A2']);
            expect(overlapped).toBe(false);
        } finally {
            releaseSlow();
            await w.stop();
        }
    });

    it('records every completion of a batch when one result cannot be stored as it is (NUL, lone surrogate)', async () => {
        for (const key of ['a', 'b', 'c', 'd']) await enqueue(db, { kind: 'send', orderingKey: key, payload: key });
        const claimed = await claimJobs(db, { now: new Date(), leaseMs: 30_000, limit: 4, workerId: 'w' });
        const [a, b, c, d] = claimed;
        const recorded = await completeJobs(
            db,
            [
                { job: a!, result: { id: '500xx0000001' } },
                { job: b!, result: { text: 'before\u0000after' } },
                { job: c!, result: { text: 'half \ud83d pair', ['key\u0000']: 1 } },
                { job: d! }
            ],
            new Date()
        );
        expect([...recorded].sort()).toEqual(claimed.map((j) => j.id).sort());
        expect(await getOutboxJob(db, a!.id)).toMatchObject({ state: 'done', result: { id: '500xx0000001' } });
        expect(await getOutboxJob(db, b!.id)).toMatchObject({ state: 'done', result: { text: 'before\ufffdafter' } });
        expect(await getOutboxJob(db, c!.id)).toMatchObject({
            state: 'done',
            result: { text: 'half \ufffd pair', ['key\ufffd']: 1 }
        });
        expect(await getOutboxJob(db, d!.id)).toMatchObject({ state: 'done', result: null });
    });

    it('when a batched completion write fails, writes the completions one by one so the others still count', async () => {
        const faulty = faultyDb(db);
        const ran: string[] = [];
        let started = 0;
        let release: () => void = () => undefined;
        const gate = new Promise<void>((resolve) => {
            release = resolve;
        });
        const w = worker(faulty.db, {
            send: async (payload) => {
                started += 1;
                await gate;
                ran.push(String(payload));
                return { payload };
            }
        });
        const jobs: Array<{ id: string }> = [];
        for (const key of ['a', 'b', 'c', 'd'])
            jobs.push(await enqueue(db, { kind: 'send', orderingKey: key, payload: key }));
        // The statement that records several successes at once fails once; each job is then written alone.
        faulty.failNext(/jsonb_array_elements\(\$1::jsonb\)/);
        w.start();
        try {
            // All four finish together, so their successes are written in one statement.
            await eventually(() => (started === 4 ? true : undefined));
            release();
            await eventually(async () => {
                const states = await Promise.all(jobs.map(async (j) => (await getOutboxJob(db, j.id))?.state));
                return states.every((s) => s === 'done') ? true : undefined;
            });
            for (const job of jobs) expect(await getOutboxJob(db, job.id)).toMatchObject({ attempts: 1 });
            expect(ran).toHaveLength(4);
        } finally {
            release();
            await w.stop();
        }
    });

    it('reschedules a job that must wait (a rate limit) without holding a slot or spending an attempt', async () => {
        const ran: string[] = [];
        let waits = 0;
        const w = worker(
            db,
            {
                send: (payload) => {
                    // The first seven tries of `chatty` are told to come back in 30 ms (more than maxAttempts).
                    if (payload === 'chatty' && waits < 7) {
                        waits += 1;
                        return Promise.reject(
                            new BridgeError('bridge_chat_rate_limited', 'over the per-conversation rate', {
                                details: { retryable: true, deferMs: 30 }
                            })
                        );
                    }
                    ran.push(String(payload));
                    return Promise.resolve();
                }
            },
            { concurrency: 1 }
        );
        const chatty = await enqueue(db, { kind: 'send', orderingKey: 'chat-1', payload: 'chatty' });
        await enqueue(db, { kind: 'send', orderingKey: 'chat-1', payload: 'chatty-next' });
        await enqueue(db, { kind: 'send', orderingKey: 'chat-2', payload: 'quiet' });
        w.start();
        try {
            await eventually(() => (ran.length === 3 ? true : undefined));
            // The one slot served the other chat while the chatty one waited; the chatty chat kept its order.
            expect(ran).toEqual(['quiet', 'chatty', 'chatty-next']);
            expect(await getOutboxJob(db, chatty.id)).toMatchObject({ state: 'done', attempts: 1 });
        } finally {
            await w.stop();
        }
    });

    it('never runs a job twice at once in one worker, even when its lease lapsed during the call', async () => {
        const faulty = faultyDb(db);
        let running = 0;
        let maxRunning = 0;
        let runs = 0;
        const w = worker(
            faulty.db,
            {
                slow: async () => {
                    runs += 1;
                    running += 1;
                    maxRunning = Math.max(maxRunning, running);
                    // Longer than the lease while every renewal fails.
                    await new Promise((resolve) => setTimeout(resolve, runs === 1 ? 600 : 5));
                    running -= 1;
                }
            },
            { leaseMs: 150 }
        );
        faulty.failNext(/SET locked_until/, 1000);
        const job = await enqueue(db, { kind: 'slow', orderingKey: 'K', payload: {} });
        w.start();
        try {
            await eventually(async () => ((await getOutboxJob(db, job.id))?.state === 'done' ? true : undefined));
            expect(maxRunning).toBe(1);
        } finally {
            await w.stop();
        }
    });
});
