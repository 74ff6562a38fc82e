/**
 * What only the BYOC adapter does, end to end on the emulators: the bot history imported into the Messaging session
 * where the org allows it (BYOC for CCaaS), delivery acknowledgements of agent messages, and a
 * burst of agent events read through numRequested flow control, nothing lost, nothing twice, in order; and what
 * reading the org's events costs while chats sit idle.
 */
import { countingDb, newStatementCount } from '../../bridge/src/store/counting-db';
import { FAST_BYOC, requestAgent, sendUserText, startHandoverSandbox, waitForText } from '../handover/harness';
import type { HandoverSandbox } from '../handover/harness';
import type { InteractionServiceEmulator } from '../emulators/byoc';
import { eventually } from '../support/eventually';

describe('BYOC adapter', () => {
    let sandbox: HandoverSandbox;
    let agent: InteractionServiceEmulator;

    const count = newStatementCount();
    let seen: string[] = [];

    beforeAll(async () => {
        count.onStatement = (sql) => seen.push(sql.replace(/\s+/g, ' ').trim());
        sandbox = await startHandoverSandbox({
            instrumentDb: (db) => countingDb(db, count),
            chatApi: 'byoc',
            byoc: { product: 'ccaas', keepAliveMs: 500 },
            byocTuning: { ...FAST_BYOC, subscription: { ...FAST_BYOC.subscription, batch: 5 } }
        });
        agent = sandbox.byoc.interactions;
    });

    afterAll(async () => {
        await sandbox.stop();
    });

    it('imports the bot conversation into the session (CCaaS) and briefs the agent without repeating it', async () => {
        // Salesforce takes history entries of the last 24 hours only.
        const now = Date.now();
        sandbox.haptik.setChatHistory('name_u-history', 1, [
            { sender: 'user', text: 'Where is my order?', at: new Date(now - 60_000) },
            { sender: 'bot', text: 'Let me find an agent for you.', at: new Date(now - 50_000) }
        ]);
        const started = await requestAgent(sandbox, { userId: 'u-history' });
        const view = await eventually(() =>
            agent.conversations().find((c) => c.conversationId === started.conversationId && c.history.length > 0)
        );
        expect(view.history).toEqual([
            { role: 'EndUser', text: 'Where is my order?' },
            { role: 'Chatbot', text: 'Let me find an agent for you.' }
        ]);
        const first = await eventually(() => agent.messagesFrom(started.conversationId)[0]?.text);
        expect(first.split('\n')).toEqual([
            'Conversation with the bot before this chat:',
            'Customer: Asha Rao',
            'Reason: user asked for an agent (refund_request)'
        ]);
        // The routing attributes came with that first message.
        const routed = agent.conversations().find((c) => c.conversationId === started.conversationId);
        expect(routed?.routingAttributes).toMatchObject({ Haptik_Intent: 'refund_request' });
    });

    it('acknowledges agent messages as delivered, and the user answers in the same session', async () => {
        const userId = 'u-acks';
        const started = await requestAgent(sandbox, { userId });
        agent.accept(started.conversationId, 'Ravi');
        await waitForText(sandbox, userId, 'You are now chatting with Ravi.');
        const id = agent.agentMessage(started.conversationId, 'hello from Ravi');
        await waitForText(sandbox, userId, 'hello from Ravi');
        await eventually(() =>
            agent
                .conversations()
                .find((c) => c.conversationId === started.conversationId)
                ?.acknowledgements.find((a) => a.entryId === id && a.type === 'Delivered')
        );
        await sendUserText(sandbox, userId, 700, 'are you there?');
        await eventually(() =>
            agent.messagesFrom(started.conversationId).some((m) => m.text === 'are you there?') ? true : undefined
        );
    });

    it('reads a burst of agent messages in batches of numRequested: in order, each once', async () => {
        const userId = 'u-burst';
        const started = await requestAgent(sandbox, { userId });
        agent.accept(started.conversationId, 'Mina');
        await waitForText(sandbox, userId, 'You are now chatting with Mina.');
        const texts = Array.from({ length: 40 }, (_, i) => `burst ${i + 1}`);
        for (const text of texts) agent.agentMessage(started.conversationId, text);
        await eventually(
            () =>
                sandbox.haptik.messagesTo(userId).filter((m) => m.text.startsWith('burst ')).length >= 40
                    ? true
                    : undefined,
            20_000
        );
        expect(
            sandbox.haptik
                .messagesTo(userId)
                .filter((m) => m.text.startsWith('burst '))
                .map((m) => m.text)
        ).toEqual(texts);
        // The subscription never had more than a batch requested and undelivered.
        expect(sandbox.byoc.pubsub.stats.maxPendingRequested).toBeLessThanOrEqual(5);
        expect(sandbox.byoc.pubsub.stats.maxBatch).toBeLessThanOrEqual(5);
        expect(sandbox.byoc.pubsub.stats.activeSubscriptions).toBe(1);
    });

    it('looks at the org events with one indexed read however many chats are open, and each chat still gets its own', async () => {
        const users = Array.from({ length: 6 }, (_, i) => `u-idle-${i}`);
        const started = [];
        for (const userId of users) started.push(await requestAgent(sandbox, { userId }));
        for (const [i, chat] of started.entries()) agent.accept(chat.conversationId, `Agent ${i}`);
        for (const [i, userId] of users.entries())
            await waitForText(sandbox, userId, `You are now chatting with Agent ${i}.`);

        seen = [];
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const reads = seen.filter((sql) => /FROM byoc_events/.test(sql));
        // pollMs is 50: about twenty looks in that second, each the same single read after the last seen event.
        expect(reads.length).toBeGreaterThanOrEqual(5);
        expect(reads.filter((sql) => /unnest/.test(sql))).toEqual([]);
        expect(new Set(reads)).toEqual(
            new Set(['SELECT seq, end_user_id, payload FROM byoc_events WHERE seq > $1 ORDER BY seq LIMIT $2'])
        );

        // Messages to every chat, interleaved, reach the right user in order.
        for (let round = 1; round <= 3; round++)
            for (const [i, chat] of started.entries()) agent.agentMessage(chat.conversationId, `to ${i}: ${round}`);
        for (const [i, userId] of users.entries()) {
            await waitForText(sandbox, userId, `to ${i}: 3`);
            expect(
                sandbox.haptik
                    .messagesTo(userId)
                    .filter((m) => m.text.startsWith('to '))
                    .map((m) => m.text)
            ).toEqual([`to ${i}: 1`, `to ${i}: 2`, `to ${i}: 3`]);
        }
    });
});
