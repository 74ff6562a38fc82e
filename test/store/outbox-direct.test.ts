import type { Db } from '../../bridge/src/store/db';
import { countingDb, newStatementCount } from '../../bridge/src/store/counting-db';
import type { StatementCount } from '../../bridge/src/store/counting-db';
import { completeJob, enqueue, getOutboxJob } from '../../bridge/src/store/outbox';
import type { NewOutboxJob } from '../../bridge/src/store/outbox';
import { createOutboxWorker } from '../../bridge/src/store/outbox-worker';
import type {
    OutboxHandlers,
    OutboxJobContext,
    OutboxWorker,
    OutboxWorkerOptions
} from '../../bridge/src/store/outbox-worker';
import { silentLogger } from '../../bridge/src/observability/logger';
import { databaseTargets } from '../support/databases';
import { eventually } from '../support/eventually';
import { ManualClock } from '../support/test-clock-and-log';

/** A promise and the function that settles it, for handlers a test holds until it lets them go. */
function gate(): { wait: Promise<void>; open: () => void } {
    let open: () => void = () => undefined;
    const wait = new Promise<void>((resolve) => {
        open = resolve;
    });
    return { wait, open };
}

/**
 * The outbox's fast path (issue 17): a job enqueued under a lock that serialises its key is inserted already
 * claimed and run by this process's worker right after the commit, with the outbox only as the retry path.
 */
describe.each(databaseTargets())('outbox jobs handed over at commit on $name', (target) => {
    let db: Db;
    let counted: Db;
    let count: StatementCount;
    let clock: ManualClock;
    const workers: OutboxWorker[] = [];

    beforeAll(async () => {
        db = await target.open();
    });

    afterAll(async () => {
        await db.close();
    });

    beforeEach(async () => {
        await db.query('DELETE FROM outbox_jobs');
        clock = new ManualClock();
        count = newStatementCount();
        counted = countingDb(db, count);
    });

    afterEach(async () => {
        await Promise.all(workers.splice(0).map((w) => w.stop()));
    });

    function worker(handlers: OutboxHandlers, overrides: Partial<OutboxWorkerOptions> = {}): OutboxWorker {
        const w = createOutboxWorker({
            db: counted,
            handlers,
            clock,
            logger: silentLogger(),
            concurrency: 4,
            // Only notify() and finished jobs wake these workers: a poll must not do the fast path's work.
            pollIntervalMs: 600_000,
            leaseMs: 30_000,
            maxAttempts: 5,
            backoff: { baseMs: 1000, maxMs: 60_000 },
            random: () => 0.5,
            exclusiveDatabase: false,
            ...overrides
        });
        workers.push(w);
        return w;
    }

    /** Starts a worker and waits until its first look for due jobs has been sent. */
    async function started(w: OutboxWorker): Promise<OutboxWorker> {
        const before = count.statements;
        w.start();
        await eventually(() => (count.statements > before ? true : undefined));
        return w;
    }

    const job = (key: string, text: string): NewOutboxJob => ({
        kind: 'send',
        orderingKey: key,
        payload: { text },
        idempotencyKey: `msg:${text.replace(/\0/g, '')}`
    });

    it('runs a job claimed at enqueue right after the commit: no claim, no notify, one statement after COMMIT', async () => {
        const seen: Array<{ payload: unknown; ctx: OutboxJobContext }> = [];
        const w = await started(
            worker({
                send: (payload, ctx) => {
                    seen.push({ payload, ctx });
                    return Promise.resolve({ sent: true });
                }
            })
        );
        const claim = w.directClaim()!;
        const before = count.statements;
        const { id } = await counted.transaction((tx) => enqueue(tx, job('chat:1', 'hello\u0000'), claim));
        expect(claim.pending).toBe(false);
        expect(claim.claimed).toMatchObject([{ id, state: 'running', attempts: 1 }]);
        expect(await getOutboxJob(db, id)).toMatchObject({ state: 'running', attempts: 1 });

        w.dispatch(claim, { session: 'as locked' });
        const done = await eventually(async () => {
            const row = await getOutboxJob(db, id);
            return row?.state === 'done' ? row : undefined;
        });
        expect(done).toMatchObject({ attempts: 1, result: { sent: true } });
        // BEGIN, INSERT, COMMIT, and the completion: nothing else, however many jobs the table holds.
        expect(count.statements - before).toBe(4);
        expect(seen).toHaveLength(1);
        // The handler gets the payload as stored (NUL taken out as for jsonb) and what the enqueuer handed over.
        expect(seen[0]!.payload).toEqual({ text: 'hello' });
        expect(seen[0]!.payload).toEqual(done.payload);
        expect(seen[0]!.ctx).toMatchObject({
            jobId: id,
            attempt: 1,
            idempotencyKey: 'msg:hello',
            prefetched: { session: 'as locked' }
        });
    });

    it('keeps per-key order: a job enqueued while an earlier one of its key is open waits and runs after it', async () => {
        const first = gate();
        const ran: string[] = [];
        const contexts: OutboxJobContext[] = [];
        const w = await started(
            worker({
                send: async (payload, ctx) => {
                    const { text } = payload as { text: string };
                    contexts.push(ctx);
                    if (text === 'one') await first.wait;
                    ran.push(text);
                }
            })
        );
        const claims = [w.directClaim()!, w.directClaim()!, w.directClaim()!];
        await counted.transaction((tx) => enqueue(tx, job('chat:1', 'one'), claims[0]));
        w.dispatch(claims[0]!);
        await eventually(() => (contexts.length === 1 ? true : undefined));

        const { id: secondId } = await counted.transaction((tx) => enqueue(tx, job('chat:1', 'two'), claims[1]));
        expect(claims[1]).toMatchObject({ pending: true, claimed: [] });
        expect(await getOutboxJob(db, secondId)).toMatchObject({ state: 'pending', attempts: 0 });
        w.dispatch(claims[1]!);
        // Another key is not held back by the open job of chat:1.
        await counted.transaction((tx) => enqueue(tx, job('chat:2', 'other'), claims[2]));
        expect(claims[2]!.claimed).toHaveLength(1);
        w.dispatch(claims[2]!);
        await eventually(() => (ran.includes('other') ? true : undefined));
        expect(ran).toEqual(['other']);

        first.open();
        await eventually(() => (ran.length === 3 ? true : undefined));
        expect(ran).toEqual(['other', 'one', 'two']);
        // The later job went the claim path: it was not handed anything.
        expect(contexts.find((ctx) => ctx.jobId === secondId)?.prefetched).toBeUndefined();
        await eventually(async () => ((await getOutboxJob(db, secondId))?.state === 'done' ? true : undefined));
        expect(await getOutboxJob(db, secondId)).toMatchObject({ attempts: 1 });
    });

    it('after a crash between commit and run, another worker runs the leased job once the lease has passed', async () => {
        const attempts: Array<{ attempt: number; key: string }> = [];
        const send: OutboxHandlers = {
            send: (_payload, ctx) => {
                attempts.push({ attempt: ctx.attempt, key: ctx.idempotencyKey });
                return Promise.resolve();
            }
        };
        const crashed = await started(worker(send));
        const claim = crashed.directClaim()!;
        const { id } = await counted.transaction((tx) => enqueue(tx, job('chat:1', 'lost?'), claim));
        // The process dies here: the job is committed and leased, and never dispatched.
        const survivor = worker(send, { workerId: 'survivor' });
        expect(await survivor.runOnce()).toBe(0);
        clock.advance(30_001);
        expect(await survivor.runOnce()).toBe(1);
        expect(attempts).toEqual([{ attempt: 2, key: 'msg:lost?' }]);
        expect(await getOutboxJob(db, id)).toMatchObject({ state: 'done', attempts: 2 });
        // The first attempt, were it to finish late after all, cannot overwrite the newer one.
        expect(await completeJob(db, claim.claimed[0]!, clock.now())).toBe(false);
    });

    it('claims nothing in a transaction that rolled back, nor for a worker that is not running', async () => {
        const idle = worker({ send: () => Promise.resolve() });
        expect(idle.directClaim()).toBeUndefined();

        const w = await started(worker({ send: () => Promise.resolve() }));
        const claim = w.directClaim()!;
        await expect(
            counted.transaction(async (tx) => {
                await enqueue(tx, job('chat:1', 'undone'), claim);
                throw new Error('the state change failed');
            })
        ).rejects.toThrow('the state change failed');
        expect(claim.claimed).toHaveLength(1);
        const rows = await db.query('SELECT id FROM outbox_jobs');
        expect(rows.rows).toHaveLength(0);
        // A later job of the same key is not held back by the rolled-back one.
        const again = w.directClaim()!;
        await counted.transaction((tx) => enqueue(tx, job('chat:1', 'redone'), again));
        expect(again).toMatchObject({ pending: false, claimed: [{ state: 'running' }] });
    });

    it('gives the jobs back when the worker stopped between the enqueue and the commit', async () => {
        const sent: string[] = [];
        const send: OutboxHandlers = {
            send: (payload) => {
                sent.push((payload as { text: string }).text);
                return Promise.resolve();
            }
        };
        const stopping = await started(worker(send));
        const claim = stopping.directClaim()!;
        const { id } = await counted.transaction((tx) => enqueue(tx, job('chat:1', 'late'), claim));
        await stopping.stop();
        stopping.dispatch(claim);
        await eventually(async () => ((await getOutboxJob(db, id))?.state === 'pending' ? true : undefined));
        expect(sent).toEqual([]);
        // Given back without spending an attempt, and without waiting for the lease.
        const other = worker(send, { workerId: 'other' });
        expect(await other.runOnce()).toBe(1);
        expect(sent).toEqual(['late']);
        expect(await getOutboxJob(db, id)).toMatchObject({ state: 'done', attempts: 1 });
    });

    it('runs handed-over jobs within its concurrency, in the order given, and stop() waits for them all', async () => {
        const hold = gate();
        const ran: string[] = [];
        let running = 0;
        let most = 0;
        const w = await started(
            worker(
                {
                    send: async (payload) => {
                        running += 1;
                        most = Math.max(most, running);
                        await hold.wait;
                        ran.push((payload as { text: string }).text);
                        running -= 1;
                    }
                },
                { concurrency: 2 }
            )
        );
        const texts = ['a', 'b', 'c', 'd', 'e'];
        const ids: string[] = [];
        for (const text of texts) {
            const claim = w.directClaim()!;
            ids.push((await counted.transaction((tx) => enqueue(tx, job(`chat:${text}`, text), claim))).id);
            w.dispatch(claim);
        }
        await eventually(() => (running === 2 ? true : undefined));
        hold.open();
        await w.stop();
        expect(most).toBe(2);
        expect(ran).toEqual(texts);
        for (const id of ids) expect(await getOutboxJob(db, id)).toMatchObject({ state: 'done', attempts: 1 });
    });
});
