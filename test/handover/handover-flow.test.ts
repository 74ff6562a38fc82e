import { integrationRequest, tractEvent } from '../emulators/haptik';
import type { LiveAgentEmulator } from '../emulators/live-agent';
import { SANDBOX_BYOC } from '../emulators/byoc';
import type { Sandbox } from '../emulators/sandbox';
import { eventually } from '../support/eventually';
import {
    CHAT_APIS,
    requestAgent,
    sendUserText,
    startHandoverSandbox,
    textsTo,
    threadControlCalls,
    userTextsAtAgent,
    waitForState,
    waitForText
} from './harness';
import type { HandoverSandbox } from './harness';

/**
 * Live-agent handover end to end: signed Haptik requests → bridge → chat emulator (the agent's side:
 * Enhanced Chat, or legacy Live Agent) → Haptik emulator (what the user sees), over real sockets. The same
 * scenarios run against both adapters; where the APIs differ (Live Agent has no message ids, reports queue
 * position and wait in one message, and takes visitor messages only once an agent accepted) the
 * expectation says so.
 */

describe.each(CHAT_APIS)('live agent handover (%s)', (api) => {
    let sandbox: HandoverSandbox;
    const legacy = api === 'legacy';

    beforeAll(async () => {
        sandbox = await startHandoverSandbox({ chatApi: api });
    });

    afterAll(async () => {
        await sandbox.stop();
    });

    it('queues with a wait-time notice, joins an agent, relays both ways in order, shows typing, ends by the agent', async () => {
        const userId = 'u-flow';
        sandbox.haptik.setChatHistory('name_u-flow', 1, [
            { sender: 'user', text: 'I want a refund for A-1001' },
            { sender: 'bot', text: 'Let me connect you to an agent.' }
        ]);
        sandbox.chat.setWaitTime(240, 3);
        const started = await requestAgent(sandbox, { userId }, { entities: { order_id: 'A-1001' } });
        sandbox.chat.setWaitTime(30);
        expect(started.answerText).toBe('Connecting you to an agent. Please stay on this chat.');
        // The answer moves thread control to the bridge (passed on by a Code node), never completes the chat.
        expect(started.answer).toMatchObject({
            status: false,
            callback_ops: { tract_atc: { receiver: sandbox.haptik.ectReceiver } }
        });
        expect(sandbox.haptik.activeReceiver(userId)).toBe(sandbox.haptik.ectReceiver);

        // Routed with the mapped pre-chat fields; the user is told the wait and queue position.
        const conversation = sandbox.chat.conversations().find((c) => c.conversationId === started.conversationId)!;
        expect(conversation.routingAttributes).toEqual({
            ...(legacy ? { 'Haptik Conversation Key': `343:${userId}:1` } : {}),
            Haptik_Intent: 'refund_request',
            Haptik_Conversation: `343:${userId}:1`
        });
        if (legacy) {
            // ChatRequestSuccess carries both the position and the wait.
            await waitForText(
                sandbox,
                userId,
                'An agent will be with you as soon as we close 2 conversations. An agent will be with you in about 4 minutes.'
            );
        } else {
            await waitForText(sandbox, userId, 'An agent will be with you in about 4 minutes.');
            await waitForText(sandbox, userId, 'An agent will be with you as soon as we close 2 conversations.');
        }

        // The agent first reads the bot conversation (Live Agent takes it once the agent accepted).
        const readBriefing = async (): Promise<void> => {
            const briefing = await eventually(() => sandbox.chat.messagesFrom(started.conversationId)[0]?.text);
            expect(briefing.split('\n')).toEqual([
                'Conversation with the bot before this chat:',
                'Customer: Asha Rao',
                'Reason: user asked for an agent (refund_request)',
                'User: I want a refund for A-1001',
                'Bot: Let me connect you to an agent.'
            ]);
        };
        if (!legacy) await readBriefing();

        // The conversation Case carries the bot context, and the chat record points at it.
        const caseRecord = await eventually(() =>
            sandbox.salesforce.records('Case').find((c) => c['Haptik_Conversation_Key__c'] === `343:${userId}:1`)
        );
        const context = JSON.parse(String(caseRecord['Haptik_Bot_Context__c'])) as Record<string, unknown>;
        expect(context).toMatchObject({
            version: 1,
            user: { name: 'Asha Rao', authId: 'crm-1001', language: 'en' },
            channel: 'Web',
            intent: 'refund_request',
            entities: [{ name: 'order_id', value: 'A-1001' }],
            recentMessages: [
                { sender: 'user', text: 'I want a refund for A-1001' },
                { sender: 'bot', text: 'Let me connect you to an agent.' }
            ]
        });

        sandbox.chat.accept(started.conversationId, 'Priya');
        await waitForText(sandbox, userId, 'You are now chatting with Priya.');
        expect(sandbox.haptik.eventsTo(userId)).toEqual([
            { category: 'message', subcategory: 'allocated', metadata: '{"agent_name":"Priya"}' }
        ]);
        await waitForState(sandbox, started.handoverId, 'with_agent');
        if (legacy) {
            // Salesforce links the transcript through the Case pre-chat entity (found by the conversation key).
            await eventually(() =>
                sandbox.salesforce
                    .records('LiveChatTranscript')
                    .find((r) => r['ChatKey'] === started.conversationId && r['CaseId'] === caseRecord['Id'])
            );
            await readBriefing();
        } else {
            await eventually(() =>
                sandbox.salesforce
                    .records('MessagingSession')
                    .find((r) => r['ConversationId'] === started.conversationId && r['CaseId'] === caseRecord['Id'])
            );
        }

        // User → agent, in order.
        for (let i = 1; i <= 5; i++) {
            const reply = await sendUserText(sandbox, userId, 100 + i, `user message ${i}`);
            expect(reply.status).toBe(200);
        }
        await eventually(() => (userTextsAtAgent(sandbox, started.conversationId).length === 5 ? true : undefined));
        expect(userTextsAtAgent(sandbox, started.conversationId)).toEqual(
            [1, 2, 3, 4, 5].map((i) => `user message ${i}`)
        );

        // Agent → user, in order, each with its entry id; typing shows nothing to the user.
        sandbox.chat.agentTyping(started.conversationId, true);
        const entryIds = [1, 2, 3, 4, 5].map((i) =>
            sandbox.chat.agentMessage(started.conversationId, `agent message ${i}`)
        );
        sandbox.chat.agentTyping(started.conversationId, false);
        await waitForText(sandbox, userId, 'agent message 5');
        const fromAgent = sandbox.haptik.messagesTo(userId).filter((m) => m.text.startsWith('agent message'));
        expect(fromAgent.map((m) => m.text)).toEqual([1, 2, 3, 4, 5].map((i) => `agent message ${i}`));
        // Live Agent has no message ids: the bridge's id is the message's position in the session's stream.
        const expectedIds = legacy ? entryIds.map((position) => `${started.conversationId}:${position}`) : entryIds;
        expect(fromAgent.map((m) => (m.metadata as { message_id: string }).message_id)).toEqual(expectedIds);
        expect(fromAgent.every((m) => m.sender === 'aeu')).toBe(true);

        // The agent ends: the notice first, then control goes back to the bot.
        sandbox.chat.end(started.conversationId);
        await waitForText(sandbox, userId, 'The chat with our agent has ended. Thank you!');
        const pass = await eventually(() => threadControlCalls(sandbox, userId)[0]);
        // Control goes back to the bot, asked for by the receiver TRACT's listeners name the bridge by.
        expect(pass.body).toMatchObject({
            user_id: userId,
            type: 'pass',
            requester: sandbox.haptik.ectReceiver,
            receiver: 'iva'
        });
        await eventually(() => (sandbox.haptik.activeReceiver(userId) === 'iva' ? true : undefined));
        const endNotice = sandbox.haptik.calls.find(
            (c) => c.path === '/tract/message/send/' && JSON.stringify(c.body).includes('has ended')
        )!;
        expect(endNotice.seq).toBeLessThan(pass.seq);
        await waitForState(sandbox, started.handoverId, 'ended', 'agent');

        // After the end, the user's messages go to the bot, not the agent.
        const after = await sendUserText(sandbox, userId, 200, 'anyone there?');
        expect(after.body).toEqual({ status: 'ignored' });
        expect(userTextsAtAgent(sandbox, started.conversationId)).toHaveLength(5);
    });

    it('a transfer does not end the chat: the user hears of it and meets the next agent', async () => {
        const userId = 'u-transfer';
        const started = await requestAgent(sandbox, { userId });
        sandbox.chat.accept(started.conversationId, 'Priya');
        await waitForText(sandbox, userId, 'You are now chatting with Priya.');
        sandbox.chat.transfer(started.conversationId, 'Ravi');
        await waitForText(sandbox, userId, 'You are now chatting with Ravi.');
        sandbox.chat.agentMessage(started.conversationId, 'Ravi from billing here');
        await waitForText(sandbox, userId, 'Ravi from billing here');

        const texts = textsTo(sandbox, userId);
        expect(texts.some((t) => t.startsWith('Transferring you'))).toBe(true);
        expect(texts.indexOf('You are now chatting with Ravi.')).toBeGreaterThan(
            texts.findIndex((t) => t.startsWith('Transferring you'))
        );
        expect(texts).not.toContain('The chat with our agent has ended. Thank you!');
        expect(threadControlCalls(sandbox, userId)).toHaveLength(0);
        await waitForState(sandbox, started.handoverId, 'with_agent');
        await sendUserText(sandbox, userId, 301, 'thanks Ravi');
        await eventually(() =>
            userTextsAtAgent(sandbox, started.conversationId).includes('thanks Ravi') ? true : undefined
        );
    });

    it('the user types the end keyword: the Salesforce session ends and the bot takes over', async () => {
        const userId = 'u-keyword';
        const started = await requestAgent(sandbox, { userId });
        sandbox.chat.accept(started.conversationId, 'Priya');
        await waitForText(sandbox, userId, 'You are now chatting with Priya.');
        await sendUserText(sandbox, userId, 401, 'End chat');
        await eventually(() =>
            sandbox.chat
                .conversations()
                .find((c) => c.conversationId === started.conversationId && c.status === 'Ended')
        );
        await waitForText(sandbox, userId, 'The chat with our agent has ended. Thank you!');
        await eventually(() => threadControlCalls(sandbox, userId)[0]);
        await waitForState(sandbox, started.handoverId, 'ended', 'user');
        expect(userTextsAtAgent(sandbox, started.conversationId)).not.toContain('End chat');
    });

    it('the bot marks the conversation complete: the Salesforce session ends, no pass is needed', async () => {
        const userId = 'u-complete';
        const started = await requestAgent(sandbox, { userId });
        const reply = await sandbox.send.tractEvent(tractEvent({ userId, subcategory: 'complete' }));
        expect(reply.body).toEqual({ status: 'accepted' });
        await eventually(() =>
            sandbox.chat
                .conversations()
                .find((c) => c.conversationId === started.conversationId && c.status === 'Ended')
        );
        await waitForState(sandbox, started.handoverId, 'ended', 'user');
        expect(threadControlCalls(sandbox, userId)).toHaveLength(0);
    });

    it('a routing failure: the user is told, an event Case is logged once, the bot takes over', async () => {
        const userId = 'u-routing';
        const started = await requestAgent(sandbox, { userId });
        sandbox.chat.routingFailure(started.conversationId, 'No matching queue');
        await waitForText(
            sandbox,
            userId,
            'Sorry, no agent is available right now. We have noted your request and will get back to you.'
        );
        await eventually(() => threadControlCalls(sandbox, userId)[0]);
        await waitForState(sandbox, started.handoverId, 'failed');
        const eventCases = await eventually(() => {
            const found = sandbox.salesforce
                .records('Case')
                .filter((c) => c['Haptik_Event_Key__c'] === `handover:${started.handoverId}`);
            return found.length > 0 ? found : undefined;
        });
        expect(eventCases).toHaveLength(1);
        expect(eventCases[0]).toMatchObject({ Origin: 'Web', Haptik_User_Id__c: userId });
    });

    it('a duplicate trigger is not a second chat, and a repeated TRACT message is relayed once', async () => {
        const userId = 'u-dup';
        const first = await requestAgent(sandbox, { userId });
        const again = await requestAgent(sandbox, { userId });
        expect(again.handoverId).toBe(first.handoverId);
        expect(again.answerText).toBe('You are already connected to our support team. Please stay on this chat.');
        const viaTract = await sandbox.send.tractEvent(tractEvent({ userId }));
        expect(viaTract.status).toBe(200);
        expect(
            sandbox.chat.conversations().filter((c) => c.routingAttributes['Haptik_Conversation'] === `343:${userId}:1`)
        ).toHaveLength(1);

        // Live Agent takes visitor messages only once an agent accepted.
        if (legacy) sandbox.chat.accept(first.conversationId, 'Priya');
        await sendUserText(sandbox, userId, 501, 'only once please');
        const repeat = await sendUserText(sandbox, userId, 501, 'only once please');
        expect(repeat.body).toEqual({ status: 'duplicate' });
        await sendUserText(sandbox, userId, 502, 'and then this');
        await eventually(() => (userTextsAtAgent(sandbox, first.conversationId).length === 2 ? true : undefined));
        expect(userTextsAtAgent(sandbox, first.conversationId)).toEqual(['only once please', 'and then this']);
    });

    it('user messages sent while Salesforce refuses them are queued and reach the agent in order', async () => {
        const userId = 'u-outage';
        const started = await requestAgent(sandbox, { userId });
        sandbox.chat.accept(started.conversationId, 'Priya');
        await waitForText(sandbox, userId, 'You are now chatting with Priya.');
        await waitForState(sandbox, started.handoverId, 'with_agent');
        sandbox.chat.failNext(12, { on: 'message', status: 503 });
        for (let i = 1; i <= 4; i++) {
            const reply = await sendUserText(sandbox, userId, 600 + i, `during outage ${i}`);
            expect(reply.status).toBe(200);
        }
        await eventually(
            () => (userTextsAtAgent(sandbox, started.conversationId).length === 4 ? true : undefined),
            20_000
        );
        expect(userTextsAtAgent(sandbox, started.conversationId)).toEqual(
            [1, 2, 3, 4].map((i) => `during outage ${i}`)
        );
    });

    it('what the user writes while waiting reaches the agent after the briefing, in order, once', async () => {
        const userId = 'u-early';
        sandbox.haptik.setChatHistory('name_u-early', 1, [{ sender: 'user', text: 'Where is my parcel?' }]);
        const started = await requestAgent(sandbox, { userId });
        await waitForState(sandbox, started.handoverId, 'waiting');
        for (let i = 1; i <= 3; i++) {
            const reply = await sendUserText(sandbox, userId, 700 + i, `while waiting ${i}`);
            expect(reply.status).toBe(200);
        }
        sandbox.chat.accept(started.conversationId, 'Priya');
        await waitForText(sandbox, userId, 'You are now chatting with Priya.');
        const reply = await sendUserText(sandbox, userId, 704, 'after joining');
        expect(reply.status).toBe(200);

        const atAgent = await eventually(() => {
            const texts = sandbox.chat.messagesFrom(started.conversationId).map((m) => m.text);
            return texts.length >= 5 ? texts : undefined;
        }, 20_000);
        expect(atAgent[0]?.startsWith('Conversation with the bot before this chat:')).toBe(true);
        expect(atAgent.slice(1)).toEqual(['while waiting 1', 'while waiting 2', 'while waiting 3', 'after joining']);
    });

    it('the TRACT event collection_state/incomplete starts a handover and tells the user', async () => {
        const userId = 'u-tract';
        const reply = await sandbox.send.tractEvent(tractEvent({ userId, conversationNumber: 4 }));
        expect(reply.body).toEqual({ status: 'accepted' });
        await waitForText(sandbox, userId, 'Connecting you to an agent. Please stay on this chat.');
        const conversation = await eventually(() =>
            sandbox.chat.conversations().find((c) => c.routingAttributes['Haptik_Conversation'] === `343:${userId}:4`)
        );
        sandbox.chat.accept(conversation.conversationId, 'Priya');
        await waitForText(sandbox, userId, 'You are now chatting with Priya.');
    });
});

/** The entry types of the BYOC platform events published for a conversation (the agent side of SF_CHAT_API=byoc). */
function byocEntryTypes(sandbox: HandoverSandbox, conversationId: string): string[] {
    return sandbox.byoc.pubsub
        .events(SANDBOX_BYOC.topicName)
        .map((e) => JSON.parse(String(e.fields[SANDBOX_BYOC.payloadField])) as Record<string, unknown>)
        .filter((p) => p['conversationIdentifier'] === conversationId)
        .map((p) => String((p['payload'] as { entryType?: unknown } | undefined)?.entryType ?? p['entryType']));
}

describe.each(CHAT_APIS)('live agent handover without agents (%s)', (api) => {
    let sandbox: HandoverSandbox;
    const legacy = api === 'legacy';

    beforeAll(async () => {
        sandbox = await startHandoverSandbox({
            chatApi: api,
            mapping: { handover: { noAgentTimeoutSeconds: 2, waitNoticeIntervalSeconds: 600 } }
        });
    });

    afterAll(async () => {
        await sandbox.stop();
    });

    it('no agent accepts within the configured time: one wait notice, then no-agents, an event Case and the bot', async () => {
        const userId = 'u-nobody';
        sandbox.chat.setWaitTime(30, 2);
        const started = await requestAgent(sandbox, { userId });
        await waitForState(sandbox, started.handoverId, 'ended', 'timeout');
        await waitForText(
            sandbox,
            userId,
            'Sorry, no agent is available right now. We have noted your request and will get back to you.'
        );
        await eventually(() => threadControlCalls(sandbox, userId)[0]);
        await eventually(() =>
            sandbox.chat
                .conversations()
                .find((c) => c.conversationId === started.conversationId && c.status === 'Ended')
        );
        const eventCase = await eventually(() =>
            sandbox.salesforce
                .records('Case')
                .find((c) => c['Haptik_Event_Key__c'] === `handover:${started.handoverId}`)
        );
        expect(String(eventCase['Subject'])).toContain('Asha Rao');
        const waitNotices = textsTo(sandbox, userId).filter((t) => t.startsWith('An agent will be with you'));
        if (legacy) {
            // ChatRequestSuccess has the position and the wait; the QueueUpdate after it is not told again.
            sandbox.chat.setWaitTime(30, 1);
            const queueEvents = sandbox.liveAgent
                .events(started.conversationId)
                .filter((e) => e.type === 'ChatRequestSuccess' || e.type === 'QueueUpdate');
            expect(queueEvents.length).toBeGreaterThanOrEqual(1);
            expect(waitNotices).toEqual([
                'An agent will be with you as soon as we close one conversation. An agent will be with you in a minute.'
            ]);
            return;
        }
        // Two queue events arrived (routing result with the wait, then the queue position): one notice.
        const queueEvents =
            api === 'byoc'
                ? byocEntryTypes(sandbox, started.conversationId).filter(
                      (type) => type === 'RoutingResult' || type === 'QueuePosition'
                  )
                : sandbox.enhancedChat
                      .events(started.conversationId)
                      .filter(
                          (e) => e.type === 'CONVERSATION_ROUTING_RESULT' || e.type === 'CONVERSATION_QUEUE_POSITION'
                      );
        expect(queueEvents.length).toBeGreaterThanOrEqual(2);
        expect(waitNotices).toEqual(['An agent will be with you in a minute.']);
    });

    /** Live Agent: Visitor/Availability says nobody is online, so no chat is asked for. */
    async function offlineLegacy(): Promise<void> {
        sandbox.chat.setAvailability(false);
        const userId = 'u-offline';
        const reply = await sandbox.send.handover(
            integrationRequest({ userId, userName: `name_${userId}`, conversationNo: 1, node: 'talk_to_agent' })
        );
        expect(reply.status).toBe(200);
        const handoverId = (reply.body as { conversation_details: { handover_id: string } }).conversation_details
            .handover_id;
        await waitForText(
            sandbox,
            userId,
            'Sorry, no agent is available right now. We have noted your request and will get back to you.'
        );
        await waitForState(sandbox, handoverId, 'failed');
        await eventually(() => threadControlCalls(sandbox, userId)[0]);
        expect(sandbox.liveAgent.conversations().filter((c) => c.conversationKey === `343:${userId}:1`)).toEqual([]);
        expect(textsTo(sandbox, userId).some((t) => t.startsWith('All our agents are busy'))).toBe(false);
        sandbox.chat.setAvailability(true);
    }

    const offline = legacy
        ? 'with every agent offline the chat is not requested: the user hears "no agents" at once'
        : 'with every agent offline the chat waits, is told so, and ends the same way';
    it(offline, async () => {
        if (legacy) {
            await offlineLegacy();
            return;
        }
        sandbox.chat.setAvailability(false);
        const userId = 'u-offline';
        const started = await requestAgent(sandbox, { userId });
        await waitForText(sandbox, userId, 'All our agents are busy. An agent will be with you shortly.');
        await waitForState(sandbox, started.handoverId, 'ended', 'timeout');
        await waitForText(
            sandbox,
            userId,
            'Sorry, no agent is available right now. We have noted your request and will get back to you.'
        );
        sandbox.chat.setAvailability(true);
    });
});

describe('live agent handover on the legacy Live Agent API: long polls and affinity changes', () => {
    let sandbox: Sandbox<LiveAgentEmulator>;

    beforeAll(async () => {
        sandbox = (await startHandoverSandbox({ chatApi: 'legacy' })) as Sandbox<LiveAgentEmulator>;
    });

    afterAll(async () => {
        await sandbox.stop();
    });

    function agentLines(userId: string): Array<{ text: string; id: string }> {
        return sandbox.haptik
            .messagesTo(userId)
            .filter((m) => m.text.startsWith('agent '))
            .map((m) => ({ text: m.text, id: (m.metadata as { message_id: string }).message_id }));
    }

    it('never opens a second poll for a session (Salesforce would end the chat with 409)', async () => {
        const userId = 'u-la-409';
        const started = await requestAgent(sandbox, { userId });
        // Held polls expire (204) several times while the chat waits.
        await eventually(() =>
            sandbox.chat.requests.filter((r) => r.path.endsWith('/System/Messages') && r.status === 204).length >= 2
                ? true
                : undefined
        );
        sandbox.chat.accept(started.conversationId, 'Priya');
        await waitForText(sandbox, userId, 'You are now chatting with Priya.');
        for (let i = 1; i <= 3; i++) {
            sandbox.chat.agentMessage(started.conversationId, `agent ${i}`);
            await sendUserText(sandbox, userId, 700 + i, `user ${i}`);
        }
        await eventually(() => (agentLines(userId).length === 3 ? true : undefined));
        await eventually(() => (userTextsAtAgent(sandbox, started.conversationId).length === 3 ? true : undefined));
        sandbox.chat.end(started.conversationId);
        await waitForState(sandbox, started.handoverId, 'ended', 'agent');
        expect(sandbox.chat.stats.conflicts).toBe(0);
        expect(sandbox.chat.stats.maxConcurrentPolls).toBe(1);
        expect(sandbox.chat.conversations().find((c) => c.conversationId === started.conversationId)).toMatchObject({
            status: 'Ended',
            endedBy: 'Agent'
        });
    });

    it('an affinity change (503) reconnects with the last offset: nothing lost or repeated either way', async () => {
        const userId = 'u-la-503';
        const started = await requestAgent(sandbox, { userId });
        const id = started.conversationId;
        sandbox.chat.accept(id, 'Priya');
        await waitForState(sandbox, started.handoverId, 'with_agent');
        sandbox.chat.agentMessage(id, 'agent 1');
        await sendUserText(sandbox, userId, 801, 'user 1');
        await eventually(() => (agentLines(userId).length === 1 ? true : undefined));
        await eventually(() => (userTextsAtAgent(sandbox, id).length === 1 ? true : undefined));
        const reconnectsBefore = sandbox.chat.stats.reconnects;

        sandbox.chat.changeAffinity(id);
        sandbox.chat.agentMessage(id, 'agent 2');
        sandbox.chat.agentMessage(id, 'agent 3');
        await sendUserText(sandbox, userId, 802, 'user 2');
        await sendUserText(sandbox, userId, 803, 'user 3');
        await eventually(() => (agentLines(userId).length === 3 ? true : undefined));
        await eventually(() => (userTextsAtAgent(sandbox, id).length === 3 ? true : undefined));
        sandbox.chat.changeAffinity(id);
        sandbox.chat.agentMessage(id, 'agent 4');
        await eventually(() => (agentLines(userId).length === 4 ? true : undefined));

        expect(agentLines(userId).map((l) => l.text)).toEqual(['agent 1', 'agent 2', 'agent 3', 'agent 4']);
        expect(new Set(agentLines(userId).map((l) => l.id)).size).toBe(4);
        expect(userTextsAtAgent(sandbox, id)).toEqual(['user 1', 'user 2', 'user 3']);
        expect(sandbox.chat.stats.reconnects - reconnectsBefore).toBeGreaterThanOrEqual(2);
        expect(sandbox.chat.stats.conflicts).toBe(0);
        const reconnects = sandbox.chat.requests.filter((r) => r.path.endsWith('/System/ReconnectSession'));
        expect(reconnects.every((r) => r.status === 200)).toBe(true);
        await waitForState(sandbox, started.handoverId, 'with_agent');
    });
});
