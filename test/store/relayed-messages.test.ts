import type { Db } from '../../bridge/src/store/db';
import { countingDb, newStatementCount } from '../../bridge/src/store/counting-db';
import { createHandoverSession, getHandoverSession } from '../../bridge/src/store/handover-sessions';
import { getInboundEvent } from '../../bridge/src/store/inbox';
import { listMessages } from '../../bridge/src/store/message-log';
import { getOutboxJob } from '../../bridge/src/store/outbox';
import type { DirectClaim } from '../../bridge/src/store/outbox';
import { recordRelayedMessage } from '../../bridge/src/store/relayed-messages';
import { upsertConversation } from '../../bridge/src/store/conversations';
import { databaseTargets } from '../support/databases';

/** One relayed message's rows in one statement (issue 17): the same rows and rules as the one-row functions. */
describe.each(databaseTargets())('relayed messages on $name', (target) => {
    let db: Db;
    let handoverId: string;
    let conversationKey: string;
    let n = 0;

    beforeAll(async () => {
        db = await target.open();
    });

    afterAll(async () => {
        await db.close();
    });

    beforeEach(async () => {
        n += 1;
        const conversation = await upsertConversation(db, { businessId: 'b1', userId: `u${n}`, conversationNo: '1' });
        conversationKey = conversation.key;
        const started = await createHandoverSession(db, {
            conversationKey,
            adapter: 'enhanced',
            state: 'with_agent',
            adapterState: { core: {} }
        });
        handoverId = started.session.id;
    });

    const claimFor = (workerId: string): DirectClaim => ({
        workerId,
        leaseMs: 15_000,
        now: new Date(),
        claimed: [],
        pending: false
    });

    const userMessage = (eventId: string, messageId: string, claim?: DirectClaim) => ({
        // Event ids are kept across the tests (one inbox): each test's are its own.
        inbound: { source: 'haptik.tract.message', eventId: `${eventId}@${n}`, payload: { message_id: messageId } },
        message: {
            conversationKey,
            handoverId,
            direction: 'in' as const,
            sender: 'user' as const,
            text: 'hello',
            hsl: { text: 'hello' },
            externalId: messageId
        },
        job: {
            kind: 'chat.send_message',
            orderingKey: `chat:${handoverId}`,
            idempotencyKey: `chat.msg:${handoverId}:${messageId}`,
            payload: { handoverId, messageId: `haptik-${messageId}`, text: 'hello' },
            streamId: handoverId
        },
        claim
    });

    it("writes a TRACT message's inbox row, log entry and claimed job in one statement; a redelivery writes nothing", async () => {
        const count = newStatementCount();
        const counted = countingDb(db, count);
        const claim = claimFor('w1');
        const first = await counted.transaction((tx) => recordRelayedMessage(tx, userMessage('ev-1', 'm-1', claim)));
        expect(first).toEqual({ duplicate: false });
        expect(count.statements).toBe(3);
        expect(await getInboundEvent(db, 'haptik.tract.message', `ev-1@${n}`)).toMatchObject({
            payload: { message_id: 'm-1' },
            processedAt: expect.any(Date) as Date
        });
        expect(await listMessages(db, conversationKey)).toMatchObject([
            { handoverId, direction: 'in', sender: 'user', text: 'hello', hsl: { text: 'hello' }, externalId: 'm-1' }
        ]);
        expect(claim.pending).toBe(false);
        expect(claim.claimed).toMatchObject([
            { kind: 'chat.send_message', state: 'running', attempts: 1, payload: { text: 'hello' } }
        ]);
        expect(await getOutboxJob(db, claim.claimed[0]!.id)).toMatchObject({ state: 'running', attempts: 1 });

        const again = claimFor('w1');
        expect(await db.transaction((tx) => recordRelayedMessage(tx, userMessage('ev-1', 'm-1', again)))).toEqual({
            duplicate: true
        });
        expect(again).toMatchObject({ claimed: [], pending: false });
        expect(await listMessages(db, conversationKey)).toHaveLength(1);
        const jobs = await db.query('SELECT id FROM outbox_jobs WHERE ordering_key = $1', [`chat:${handoverId}`]);
        expect(jobs.rows).toHaveLength(1);
    });

    it('leaves a job pending behind an unfinished job of its key, and without a claim', async () => {
        const claim = claimFor('w1');
        await db.transaction((tx) => recordRelayedMessage(tx, userMessage('ev-1', 'm-1', claim)));
        const behind = claimFor('w1');
        await db.transaction((tx) => recordRelayedMessage(tx, userMessage('ev-2', 'm-2', behind)));
        expect(behind).toMatchObject({ claimed: [], pending: true });
        await db.transaction((tx) => recordRelayedMessage(tx, userMessage('ev-3', 'm-3')));
        const states = await db.query<{ state: string; attempts: number }>(
            'SELECT state, attempts FROM outbox_jobs WHERE ordering_key = $1 ORDER BY id',
            [`chat:${handoverId}`]
        );
        expect(states.rows).toEqual([
            { state: 'running', attempts: 1 },
            { state: 'pending', attempts: 0 },
            { state: 'pending', attempts: 0 }
        ]);
    });

    it("writes an agent message's log entry, job and stream position; a replayed entry moves only the position", async () => {
        const agentMessage = (entryId: string, cursor: string) => ({
            message: {
                conversationKey,
                handoverId,
                direction: 'out' as const,
                sender: 'agent' as const,
                text: 'how can I help?',
                externalId: entryId
            },
            job: {
                kind: 'haptik.message',
                orderingKey: `haptik:user:u${n}`,
                idempotencyKey: `haptik-msg:agent:${handoverId}:${entryId}`,
                payload: { userId: `u${n}`, hsl: 'how can I help?', metadata: { message_id: entryId } }
            },
            cursor: { handoverId, lastEventId: cursor }
        });
        const first = await db.transaction((tx) => recordRelayedMessage(tx, agentMessage('entry-1', 'c-1')));
        expect(first).toEqual({ duplicate: false });
        expect((await getHandoverSession(db, handoverId))?.lastEventId).toBe('c-1');
        const jobs = await db.query<{ id: string }>('SELECT id FROM outbox_jobs WHERE ordering_key = $1', [
            `haptik:user:u${n}`
        ]);
        expect(jobs.rows).toHaveLength(1);
        expect(await getOutboxJob(db, String(jobs.rows[0]!.id))).toMatchObject({ state: 'pending', attempts: 0 });

        const replay = await db.transaction((tx) => recordRelayedMessage(tx, agentMessage('entry-1', 'c-2')));
        expect(replay).toEqual({ duplicate: true });
        expect((await getHandoverSession(db, handoverId))?.lastEventId).toBe('c-2');
        expect(await listMessages(db, conversationKey)).toHaveLength(1);
        const after = await db.query('SELECT id FROM outbox_jobs WHERE ordering_key = $1', [`haptik:user:u${n}`]);
        expect(after.rows).toHaveLength(1);
    });
});
