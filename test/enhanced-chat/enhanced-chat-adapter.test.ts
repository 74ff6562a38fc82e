/**
 * The Enhanced Chat adapter against the emulator over real sockets: the whole chat life, exactly-once
 * user messages, stream reconnects with Last-Event-Id, resume after a restart, token expiry, Salesforce's
 * rate limits met by queuing, routing failure and the heartbeat timeout.
 */
import { isBridgeError } from '../../bridge/src/core/errors';
import type { BridgeError } from '../../bridge/src/core/errors';
import type { ChatSessionState } from '../../bridge/src/core/handover/chat-port';
import { toChatUuid } from '../../bridge/src/salesforce/enhanced-chat';
import { startSalesforceEmulator } from '../emulators/salesforce';
import type { SalesforceEmulator } from '../emulators/salesforce';
import { eventually } from '../support/eventually';
import { agentTexts, openRequest, startHarness } from './harness';
import type { Harness } from './harness';

const UUID_LOWER = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('Enhanced Chat adapter', () => {
    let h: Harness;
    let salesforce: SalesforceEmulator | undefined;

    afterEach(async () => {
        await h.close();
        await salesforce?.close();
        salesforce = undefined;
    });

    it('runs a chat: queued with a wait, agent joins, messages and typing, transfer without an end, agent ends', async () => {
        salesforce = await startSalesforceEmulator();
        h = await startHarness({ salesforce });
        h.emulator.setWaitTime(45);
        const state = await h.adapter.open(openRequest('ho-1'));

        const data = state.data as { accessToken: string; conversationId: string; tokenExpiresAt: string | null };
        expect(data.conversationId).toMatch(UUID_LOWER);
        expect(data.accessToken.split('.')).toHaveLength(3);
        expect(Date.parse(data.tokenExpiresAt ?? '')).toBeGreaterThan(Date.now());
        expect(state.cursor).toBe('0');
        const [conversation] = h.emulator.conversations();
        expect(conversation?.conversationId).toBe(data.conversationId);
        expect(conversation?.routingAttributes).toEqual({
            Haptik_Conversation_Key: '4242:user-ho-1:1',
            Channel: 'WhatsApp'
        });

        const queued = await h.recorder.waitFor((e) => e.type === 'queued');
        expect(queued.event).toEqual({ type: 'queued', estimatedWaitSeconds: 45 });
        // The routing result names the MessagingSession, so the core can set its CaseId.
        const [session] = salesforce.records('MessagingSession');
        expect(session).toMatchObject({ Status: 'Waiting', ConversationId: data.conversationId });
        expect(queued.state?.data.messagingSessionId).toBe(session?.Id);

        h.emulator.accept(data.conversationId, 'Asha');
        h.emulator.agentTyping(data.conversationId, true);
        const ids = ['Hello, I am Asha.', 'Let me look at order A-1001.', 'It ships tomorrow.'].map((t) =>
            h.emulator.agentMessage(data.conversationId, t)
        );
        h.emulator.agentTyping(data.conversationId, false);

        await h.adapter.sendMessage('ho-1', state, { messageId: 'hm-1', text: 'hi' });
        await h.adapter.sendMessage('ho-1', state, { messageId: 'hm-2', text: 'where is my order?' });
        await h.adapter.sendTyping('ho-1', state, true);
        expect(h.emulator.conversations()[0]?.userTyping).toBe(true);

        h.emulator.transfer(data.conversationId, 'Ravi');
        h.emulator.agentMessage(data.conversationId, 'Ravi here.');
        h.emulator.end(data.conversationId);

        const events = await h.recorder.waitForCount(12, 'ho-1');
        expect(events).toEqual([
            { type: 'queued', estimatedWaitSeconds: 45 },
            { type: 'agent_joined', agentName: 'Asha' },
            { type: 'agent_typing', typing: true },
            { type: 'agent_message', messageId: ids[0], text: 'Hello, I am Asha.', agentName: 'Asha' },
            { type: 'agent_message', messageId: ids[1], text: 'Let me look at order A-1001.', agentName: 'Asha' },
            { type: 'agent_message', messageId: ids[2], text: 'It ships tomorrow.', agentName: 'Asha' },
            { type: 'agent_typing', typing: false },
            { type: 'agent_left', agentName: 'Asha' },
            { type: 'transferring' },
            { type: 'agent_joined', agentName: 'Ravi' },
            expect.objectContaining({ type: 'agent_message', text: 'Ravi here.', agentName: 'Ravi' }),
            { type: 'ended', by: 'agent' }
        ]);
        // The agent's ParticipantChanged remove after the end is not another event; the stream is closed.
        await h.emulator.waitFor((emu) => emu.stats.activeStreams === 0);
        expect(h.recorder.events('ho-1')).toHaveLength(12);

        // The user's messages reached Salesforce in order; their echoes never came back as agent messages.
        expect(h.emulator.messagesFrom(data.conversationId).map((m) => m.text)).toEqual(['hi', 'where is my order?']);
        // Cursors are the SSE ids, increasing.
        const cursors = h.recorder.envelopes.map((e) => Number(e.cursor));
        expect([...cursors].sort((a, b) => a - b)).toEqual(cursors);
        expect(h.emulator.conversations()[0]).toMatchObject({ status: 'Ended', sessionEndedByRole: 'Agent' });
    });

    it('delivers user messages once and in order through a 503, a reset and a lost answer', async () => {
        h = await startHarness();
        const state = await h.adapter.open(openRequest('ho-2'));
        const conversationId = (state.data as { conversationId: string }).conversationId;
        h.emulator.failNext(1, { on: 'message', status: 503 });
        h.emulator.failNext(1, { on: 'message', dropResponse: true });
        h.emulator.failNext(1, { on: 'message', resetConnection: true });

        const texts = ['one', 'two', 'three', 'four'];
        await Promise.all(
            texts.map((text, i) => h.adapter.sendMessage('ho-2', state, { messageId: `hm-${i + 1}`, text }))
        );
        // The core retries a send it could not confirm: same messageId, no second message.
        await h.adapter.sendMessage('ho-2', state, { messageId: 'hm-2', text: 'two' });

        const received = h.emulator.messagesFrom(conversationId);
        expect(received.map((m) => m.text)).toEqual(texts);
        expect(received.map((m) => m.id)).toEqual(texts.map((_, i) => toChatUuid('message', `hm-${i + 1}`)));
        expect(received.every((m) => UUID_LOWER.test(m.id))).toBe(true);
        expect(h.emulator.requests.filter((r) => r.path.endsWith('/message') && r.status === -1)).toHaveLength(2);
    });

    it('reconnects after dropped streams with Last-Event-Id: nothing lost, nothing repeated', async () => {
        h = await startHarness();
        const state = await h.adapter.open(openRequest('ho-3'));
        const conversationId = (state.data as { conversationId: string }).conversationId;
        h.emulator.accept(conversationId, 'Asha');
        h.emulator.agentMessage(conversationId, 'a');
        await h.recorder.waitFor((e) => e.type === 'agent_message');

        h.emulator.dropStreams();
        h.emulator.agentMessage(conversationId, 'b');
        h.emulator.agentMessage(conversationId, 'c');
        await eventually(() => (agentTexts(h.recorder.events()).length >= 3 ? true : undefined));
        h.emulator.dropStreams();
        h.emulator.agentMessage(conversationId, 'd');
        await eventually(() => (agentTexts(h.recorder.events()).length >= 4 ? true : undefined));

        expect(agentTexts(h.recorder.events())).toEqual(['a', 'b', 'c', 'd']);
        expect(h.recorder.events().filter((e) => e.type === 'agent_joined')).toHaveLength(1);
        expect(h.emulator.stats.sseConnections).toBeGreaterThanOrEqual(3);
        const sse = h.emulator.requests.filter((r) => r.path === '/eventrouter/v1/sse');
        expect(sse.every((r) => r.status === 200)).toBe(true);
    });

    it('resumes in a new adapter instance from a saved cursor: exactly the events after it', async () => {
        h = await startHarness();
        const state = await h.adapter.open(openRequest('ho-4'));
        const conversationId = (state.data as { conversationId: string }).conversationId;
        h.emulator.accept(conversationId, 'Asha');
        h.emulator.agentMessage(conversationId, 'first');
        h.emulator.agentMessage(conversationId, 'second');
        const first = await h.recorder.waitFor((e) => e.type === 'agent_message' && e.text === 'first');
        await h.recorder.waitFor((e) => e.type === 'agent_message' && e.text === 'second');
        // The core persisted the cursor of "first" only, then the process died.
        await h.adapter.close();
        h.emulator.agentMessage(conversationId, 'third while down');

        const saved: ChatSessionState = { data: state.data, cursor: first.cursor };
        const restarted = h.newAdapter();
        await restarted.adapter.resume('ho-4', saved);
        h.emulator.agentMessage(conversationId, 'fourth');
        const events = await restarted.recorder.waitForCount(3);
        expect(agentTexts(events)).toEqual(['second', 'third while down', 'fourth']);
        expect(events).toHaveLength(3);
        // Sending works from the saved state too.
        await restarted.adapter.sendMessage('ho-4', saved, { messageId: 'after-restart', text: 'still there?' });
        expect(h.emulator.messagesFrom(conversationId).map((m) => m.text)).toEqual(['still there?']);
    });

    it('keeps an idle chat past its token’s lifetime: renews ahead of expiry, same subject, same conversation', async () => {
        // Tokens live 2 s here; the service refuses an expired one outright (continuation included).
        h = await startHarness({ tokenTtlMs: 2000 });
        const state = await h.adapter.open(openRequest('ho-5'));
        const conversationId = (state.data as { conversationId: string }).conversationId;
        h.emulator.accept(conversationId, 'Asha');
        await h.recorder.waitFor((e) => e.type === 'agent_joined');

        // Idle for more than two lifetimes (a long queue, a quiet agent).
        await new Promise((resolve) => setTimeout(resolve, 4500));
        h.emulator.agentMessage(conversationId, 'still there?');
        const envelope = await h.recorder.waitFor((e) => e.type === 'agent_message');
        expect(envelope.event).toMatchObject({ text: 'still there?' });
        const renewed = envelope.state?.data.accessToken;
        expect(typeof renewed).toBe('string');
        expect(renewed).not.toBe(state.data.accessToken);
        // The core may still hold the first state: the adapter uses the renewed token.
        await h.adapter.sendMessage('ho-5', state, { messageId: 'u-1', text: 'yes, thanks' });
        expect(h.emulator.messagesFrom(conversationId).map((m) => m.text)).toEqual(['yes, thanks']);

        const calls = h.emulator.requests;
        // One guest (one subject) throughout; renewed by continuation tokens, never refused as expired.
        expect(calls.filter((r) => r.path.endsWith('/authorization/unauthenticated/access-token'))).toHaveLength(1);
        expect(
            calls.filter((r) => r.path.endsWith('/authorization/continuation-access-token') && r.status === 200).length
        ).toBeGreaterThanOrEqual(2);
        expect(calls.filter((r) => r.status === 401)).toEqual([]);
        expect(h.emulator.conversations()).toHaveLength(1);
    });

    it('queues opens beyond the token limit instead of failing', async () => {
        h = await startHarness(
            { limits: { tokensPerWindow: 2, windowMs: 300 } },
            { tokenRatePerMinute: 2, rateWindowMs: 350 }
        );
        const states = await Promise.all(
            ['t-1', 't-2', 't-3', 't-4', 't-5'].map((id) => h.adapter.open(openRequest(id)))
        );
        expect(new Set(states.map((s) => (s.data as { conversationId: string }).conversationId)).size).toBe(5);
        expect(h.emulator.conversations()).toHaveLength(5);
        expect(h.emulator.stats.throttled).toBe(0);
        const tokenCalls = h.emulator.requests.filter((r) => r.path.endsWith('/access-token'));
        expect(tokenCalls.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    });

    it('answers a message beyond 22 per minute per conversation (a small limit here) with when to come back', async () => {
        h = await startHarness(
            { limits: { messagesPerWindow: 3, windowMs: 300 } },
            { messageRatePerMinute: 3, rateWindowMs: 350 }
        );
        const state = await h.adapter.open(openRequest('ho-7'));
        const conversationId = (state.data as { conversationId: string }).conversationId;
        const texts = Array.from({ length: 8 }, (_, i) => `message ${i + 1}`);
        let deferred = 0;
        // As the outbox does: a deferred send comes back after deferMs, and the chat's next one waits for it.
        for (const [i, text] of texts.entries()) {
            for (;;) {
                try {
                    await h.adapter.sendMessage('ho-7', state, { messageId: `m-${i}`, text });
                    break;
                } catch (error) {
                    expect(isBridgeError(error, 'bridge_chat_rate_limited')).toBe(true);
                    const deferMs = (error as BridgeError).details['deferMs'] as number;
                    expect(deferMs).toBeGreaterThan(0);
                    expect(deferMs).toBeLessThanOrEqual(350);
                    deferred += 1;
                    await new Promise((resolve) => setTimeout(resolve, deferMs));
                }
            }
        }
        expect(h.emulator.messagesFrom(conversationId).map((m) => m.text)).toEqual(texts);
        expect(deferred).toBeGreaterThan(0);
        expect(h.emulator.stats.throttled).toBe(0);
    });

    it('survives the emulator throttling anyway (429) by retrying', async () => {
        h = await startHarness();
        const state = await h.adapter.open(openRequest('ho-8'));
        const conversationId = (state.data as { conversationId: string }).conversationId;
        h.emulator.failNext(2, { on: 'message', status: 429 });
        await h.adapter.sendMessage('ho-8', state, { messageId: 'm-1', text: 'hello' });
        expect(h.emulator.messagesFrom(conversationId).map((m) => m.text)).toEqual(['hello']);
    });

    it('reports a routing failure as failed, and nothing after it', async () => {
        h = await startHarness();
        const state = await h.adapter.open(openRequest('ho-9'));
        const conversationId = (state.data as { conversationId: string }).conversationId;
        await h.recorder.waitFor((e) => e.type === 'queued');
        h.emulator.routingFailure(conversationId, 'No queue for this flow');
        const failed = await h.recorder.waitFor((e) => e.type === 'failed');
        expect(failed.event).toEqual({ type: 'failed', reason: 'routing_failed', detail: 'No queue for this flow' });
        // The session ended by System after the failure: the core does not get a second terminal event.
        await h.emulator.waitFor((emu) => emu.conversations()[0]?.status === 'Ended');
        expect(h.recorder.events().map((e) => e.type)).toEqual(['queued', 'failed']);
    });

    it('keeps a conversation waiting without an estimate when no agent is available', async () => {
        h = await startHarness();
        h.emulator.setAvailability(false);
        await h.adapter.open(openRequest('ho-10'));
        const queued = await h.recorder.waitFor((e) => e.type === 'queued');
        expect(queued.event).toEqual({ type: 'queued' });
        expect(h.emulator.conversations()[0]?.status).toBe('Waiting');
    });

    it('passes the queue position on when Salesforce sends one', async () => {
        h = await startHarness();
        h.emulator.setWaitTime(120, 4);
        const state = await h.adapter.open(openRequest('ho-11'));
        await h.recorder.waitForCount(2);
        expect(h.recorder.events()).toEqual([
            { type: 'queued', estimatedWaitSeconds: 120 },
            { type: 'queued', position: 4 }
        ]);
        h.emulator.setWaitTime(60, 2);
        await h.recorder.waitForCount(3);
        expect(h.recorder.events()[2]).toEqual({ type: 'queued', position: 2 });
        expect(state.cursor).toBe('0');
    });

    it('reconnects when the stream goes silent past the heartbeat timeout', async () => {
        h = await startHarness({ pingIntervalMs: 40 }, { heartbeatTimeoutMs: 250 });
        const state = await h.adapter.open(openRequest('ho-12'));
        const conversationId = (state.data as { conversationId: string }).conversationId;
        h.emulator.accept(conversationId, 'Asha');
        await h.recorder.waitFor((e) => e.type === 'agent_joined');
        const before = h.emulator.stats.sseConnections;

        h.emulator.stallStreams();
        h.emulator.agentMessage(conversationId, 'sent into a silent stream');
        const got = await h.recorder.waitFor((e) => e.type === 'agent_message');
        expect(got.event).toMatchObject({ text: 'sent into a silent stream' });
        expect(h.emulator.stats.sseConnections).toBeGreaterThan(before);
        expect(agentTexts(h.recorder.events())).toEqual(['sent into a silent stream']);
    });

    it('ends the session when the user ends the chat, and stops the stream', async () => {
        h = await startHarness();
        const state = await h.adapter.open(openRequest('ho-13'));
        const conversationId = (state.data as { conversationId: string }).conversationId;
        h.emulator.accept(conversationId, 'Asha');
        await h.recorder.waitFor((e) => e.type === 'agent_joined');
        await h.adapter.end('ho-13', state);
        expect(h.emulator.conversations()[0]).toMatchObject({
            status: 'Ended',
            sessionEndedByRole: 'EndUser',
            closed: true
        });
        await h.emulator.waitFor((emu) => emu.stats.activeStreams === 0);
        expect(h.recorder.events().map((e) => e.type)).toEqual(['queued', 'agent_joined']);
    });

    it('opens idempotently per handover and rejects a state without a token', async () => {
        h = await startHarness();
        const first = await h.adapter.open(openRequest('ho-14'));
        const again = await h.adapter.open(openRequest('ho-14'));
        expect(again.data.conversationId).toBe(first.data.conversationId);
        expect(h.emulator.conversations()).toHaveLength(1);
        await expect(h.adapter.resume('ho-15', { data: {}, cursor: null })).rejects.toMatchObject({
            code: 'bridge_chat_state'
        });
        const error: unknown = await h.adapter
            .sendMessage('ho-15', { data: {}, cursor: null }, { messageId: 'x', text: 'x' })
            .then(
                () => undefined,
                (e: unknown) => e
            );
        expect(isBridgeError(error, 'bridge_chat_state')).toBe(true);
        expect((error as { details: { retryable: boolean } }).details.retryable).toBe(false);
    });
});
