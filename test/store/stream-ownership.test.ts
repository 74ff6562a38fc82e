import { randomUUID } from 'node:crypto';
import type { Db } from '../../bridge/src/store/db';
import { upsertConversation } from '../../bridge/src/store/conversations';
import {
    createHandoverSession,
    getHandoverSession,
    updateHandoverSession
} from '../../bridge/src/store/handover-sessions';
import type { HandoverSession } from '../../bridge/src/store/handover-sessions';
import { createStreamOwnership } from '../../bridge/src/services/stream-ownership';
import type { StreamOwnership } from '../../bridge/src/services/stream-ownership';
import { silentLogger } from '../../bridge/src/observability/logger';
import { claimJobs, enqueue } from '../../bridge/src/store/outbox';
import { createOutboxWorker } from '../../bridge/src/store/outbox-worker';
import { databaseTargets } from '../support/databases';
import { eventually } from '../support/eventually';

/**
 * Chat stream ownership between bridge instances that share a database (issue 10): one reader per
 * open chat, takeover after a heartbeat runs out or at once after a graceful stop, and fencing of an
 * instance that wakes up after losing its chats. Several "instances" here are several ownership
 * objects on one database, each with its own id, as separate processes would be. (The multi-process
 * test is test/multi-instance.)
 */

interface Instance {
    ownership: StreamOwnership;
    resumed: string[];
    detached: string[];
}

async function openChat(db: Db, owner?: StreamOwnership): Promise<string> {
    const conversation = await upsertConversation(db, {
        businessId: 343,
        userId: `user-${randomUUID()}`,
        conversationNo: 1,
        channel: 'web'
    });
    const { session } = await createHandoverSession(db, {
        conversationKey: conversation.key,
        adapter: 'enhanced',
        state: 'requested'
    });
    if (owner !== undefined) await db.transaction((tx) => owner.claimForOpen(tx, session.id));
    return session.id;
}

async function locked(db: Db, id: string): Promise<HandoverSession> {
    const session = await getHandoverSession(db, id);
    if (session === undefined) throw new Error(`no handover ${id}`);
    return session;
}

function newInstance(db: Db, options: { leaseMs: number; tickMs?: number }): Instance {
    const resumed: string[] = [];
    const detached: string[] = [];
    const ownership = createStreamOwnership({
        db,
        logger: silentLogger(),
        leaseMs: options.leaseMs,
        // Separate processes on a shared server, even when the test database is the embedded one.
        exclusiveDatabase: false,
        // Ticks run when a test asks for them unless it says otherwise.
        tickMs: options.tickMs ?? 3_600_000
    });
    return { ownership, resumed, detached };
}

async function start(instance: Instance): Promise<Instance> {
    await instance.ownership.start({
        resume: (id) => {
            instance.resumed.push(id);
            return Promise.resolve();
        },
        detach: (id) => instance.detached.push(id)
    });
    // start() looks for free chats in the background; wait for that first look.
    await instance.ownership.tick();
    return instance;
}

describe.each(databaseTargets())('stream ownership on $name', (target) => {
    let db: Db;
    const running: Instance[] = [];

    beforeAll(async () => {
        db = await target.open();
    });

    afterEach(async () => {
        // Each test starts with no open chats: a stopped instance's chats would go to the next test's.
        await db.query(`UPDATE handover_sessions SET state = 'ended' WHERE state <> 'ended'`);
        await Promise.all(running.splice(0).map((i) => i.ownership.stop()));
    });

    afterAll(async () => {
        await db.close();
    });

    async function started(options: { leaseMs: number; tickMs?: number }): Promise<Instance> {
        const instance = await start(newInstance(db, options));
        running.push(instance);
        return instance;
    }

    it('the instance that opens a chat holds its stream; a chat still being opened is never taken over', async () => {
        const a = await started({ leaseMs: 60_000 });
        const opened = await openChat(db, a.ownership);
        const opening = await openChat(db);
        expect(a.ownership.holds(await locked(db, opened))).toBe(true);
        expect((await locked(db, opening)).streamEpoch).toBe(0);

        await a.ownership.tick();
        expect(a.resumed).not.toContain(opening);
        expect(a.ownership.holds(await locked(db, opening))).toBe(false);
    });

    it('a graceful stop hands the streams over at once, with a new epoch', async () => {
        const a = await started({ leaseMs: 60_000 });
        const id = await openChat(db, a.ownership);
        const before = await locked(db, id);

        await a.ownership.stop();
        running.splice(running.indexOf(a), 1);
        const b = await started({ leaseMs: 60_000 });

        expect(b.resumed).toEqual([id]);
        const after = await locked(db, id);
        expect(after.streamOwner).toBe(b.ownership.instanceId);
        expect(after.streamEpoch).toBe(before.streamEpoch + 1);
        expect(b.ownership.holds(after)).toBe(true);
    });

    it('ended chats are not taken over', async () => {
        const a = await started({ leaseMs: 60_000 });
        const id = await openChat(db, a.ownership);
        await updateHandoverSession(db, id, 'requested', { state: 'ended' });
        await a.ownership.stop();
        running.splice(running.indexOf(a), 1);
        const b = await started({ leaseMs: 60_000 });
        expect(b.resumed).not.toContain(id);
    });

    it('does not take a chat from a live instance; takes it once its heartbeat runs out, and fences the old one', async () => {
        // `a` renews only when told to: it is "paused" from here on.
        const a = await started({ leaseMs: 300 });
        const b = await started({ leaseMs: 60_000 });
        const id = await openChat(db, a.ownership);

        await b.ownership.tick();
        expect(b.resumed).toEqual([]);

        await eventually(async () => {
            await b.ownership.tick();
            return b.resumed.includes(id) ? true : undefined;
        });
        const now = await locked(db, id);
        expect(now.streamOwner).toBe(b.ownership.instanceId);
        expect(b.ownership.holds(now)).toBe(true);
        // The old owner acts on nothing: its epoch is stale on the row it would lock.
        expect(a.ownership.holds(now)).toBe(false);

        // When it wakes up, its heartbeat finds it had lapsed, and it stops reading that stream.
        await a.ownership.tick();
        expect(a.detached).toEqual([id]);
        expect(a.ownership.held()).toBe(0);
        expect(b.ownership.held()).toBe(1);
    });

    it('survivors share a dead instance’s chats, each taken exactly once', async () => {
        const dead = await started({ leaseMs: 300 });
        const ids: string[] = [];
        for (let i = 0; i < 30; i += 1) ids.push(await openChat(db, dead.ownership));

        const survivors = await Promise.all([1, 2, 3].map(() => started({ leaseMs: 60_000, tickMs: 20 })));
        const taken = await eventually(() => {
            const all = survivors.flatMap((s) => s.resumed);
            return all.length >= ids.length ? all : undefined;
        });
        expect([...taken].sort()).toEqual([...ids].sort());
        expect(survivors.reduce((n, s) => n + s.ownership.held(), 0)).toBe(ids.length);
        for (const id of ids) {
            const session = await locked(db, id);
            expect(survivors.filter((s) => s.ownership.holds(session))).toHaveLength(1);
        }
    });

    it('runs a job bound to a chat stream only where that stream is read', async () => {
        await db.query('DELETE FROM outbox_jobs');
        const a = await started({ leaseMs: 300 });
        const b = await started({ leaseMs: 60_000 });
        const opening = await openChat(db);
        const open = await openChat(db, a.ownership);
        const claim = (instanceId: string) =>
            claimJobs(db, { now: new Date(), leaseMs: 60_000, limit: 10, workerId: instanceId, instanceId });
        await enqueue(db, { kind: 'chat.send_message', orderingKey: `chat:${open}`, payload: {}, streamId: open });
        await enqueue(db, { kind: 'chat.end', orderingKey: `chat:${opening}`, payload: {}, streamId: opening });

        // Not opened yet: anyone. Open and read by a: not b.
        expect((await claim(b.ownership.instanceId)).map((j) => j.kind)).toEqual(['chat.end']);
        // a stops renewing: while nobody reads the open chat, its job waits for the new reader.
        await new Promise((resolve) => setTimeout(resolve, 400));
        expect(await claim(b.ownership.instanceId)).toEqual([]);
        await b.ownership.tick();
        expect(b.resumed).toEqual([open]);
        expect((await claim(b.ownership.instanceId)).map((j) => j.kind)).toEqual(['chat.send_message']);
    });

    it('leaves the jobs of an ended chat whose reader died to anyone', async () => {
        await db.query('DELETE FROM outbox_jobs');
        const a = await started({ leaseMs: 300 });
        const b = await started({ leaseMs: 60_000 });
        const id = await openChat(db, a.ownership);
        await updateHandoverSession(db, id, 'requested', { state: 'ended' });
        await enqueue(db, { kind: 'chat.end', orderingKey: `chat:${id}`, payload: {}, streamId: id });
        const claim = () =>
            claimJobs(db, {
                now: new Date(),
                leaseMs: 60_000,
                limit: 10,
                workerId: 'b',
                instanceId: b.ownership.instanceId
            });
        expect(await claim()).toEqual([]);
        await new Promise((resolve) => setTimeout(resolve, 400));
        expect((await claim()).map((j) => j.kind)).toEqual(['chat.end']);
    });

    // Only a database several processes share has NOTIFY between them; the embedded one has no other process.
    if (target.name === 'postgres') {
        it('wakes the reading instance at once when another stores a job for its chat', async () => {
            await db.query('DELETE FROM outbox_jobs');
            const a = await started({ leaseMs: 60_000 });
            const id = await openChat(db, a.ownership);
            const ran: string[] = [];
            const worker = createOutboxWorker({
                db,
                handlers: {
                    'chat.send_message': (payload) => {
                        ran.push(String((payload as { text: string }).text));
                        return Promise.resolve();
                    }
                },
                clock: { now: () => new Date() },
                logger: silentLogger(),
                // It would not look on its own for a minute: only the notification can wake it.
                pollIntervalMs: 60_000,
                instanceId: a.ownership.instanceId,
                exclusiveDatabase: false
            });
            worker.start();
            try {
                // Let its first look (and LISTEN) happen, then store the job as another instance would.
                await new Promise((resolve) => setTimeout(resolve, 300));
                await db.transaction((tx) =>
                    enqueue(tx, {
                        kind: 'chat.send_message',
                        orderingKey: `chat:${id}`,
                        payload: { text: 'hello' },
                        streamId: id
                    })
                );
                await eventually(() => (ran.length === 1 ? true : undefined), 5_000);
                expect(ran).toEqual(['hello']);
            } finally {
                await worker.stop();
            }
        });
    }
});
