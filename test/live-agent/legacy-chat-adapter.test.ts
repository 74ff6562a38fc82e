/**
 * The legacy Chat (Live Agent) adapter against the emulator over real sockets: ChasitorInit, the single
 * long-poll loop, event mapping, sequenced sends, 503 → ReconnectSession, and a resume after a restart.
 */
import type { ChatEvent } from '../../bridge/src/core/handover/chat-port';
import { eventually } from '../support/eventually';
import { openRequest, startHarness, storedState } from './harness';
import type { Harness } from './harness';

const agentTexts = (events: ChatEvent[]): string[] =>
    events.flatMap((e) => (e.type === 'agent_message' ? [e.text] : []));

describe('legacy chat adapter', () => {
    let h: Harness;

    beforeEach(async () => {
        h = await startHarness(
            {},
            { contactEmailDetail: 'Customer_Email', transcriptFields: { Haptik_Intent: ['Body'] } }
        );
    });
    afterEach(() => h.close());

    it('asks for the chat with the bot context and entities, relays both ways, maps every message type', async () => {
        const contact = h.salesforce.insert('Contact', { LastName: 'Rao', Email: 'asha@example.com' });
        const kase = h.salesforce.insert('Case', { Subject: 'chat', Haptik_Conversation_Key__c: '4242:user-h1:1' });
        h.emulator.setWaitTime(90, 3);
        const state = await h.adapter.open(openRequest('h1'));
        expect(state.data).toMatchObject({ sequence: 1, ack: -1, established: false, clientPollTimeout: 40 });
        const chat = h.emulator.conversations()[0]!;
        expect(chat.conversationId).toBe(state.data['sessionId']);
        expect(chat.prechatDetails).toEqual([
            { label: 'Haptik Conversation Key', value: '4242:user-h1:1', transcriptFields: [], displayToAgent: true },
            { label: 'Haptik_Intent', value: 'refund_request', transcriptFields: ['Body'], displayToAgent: true },
            { label: 'Customer_Email', value: 'asha@example.com', transcriptFields: [], displayToAgent: true }
        ]);
        expect(chat.prechatEntities).toEqual([
            expect.objectContaining({
                entityName: 'Contact',
                saveToTranscript: 'ContactId',
                entityFieldsMaps: [
                    { fieldName: 'Email', label: 'Customer_Email', doFind: true, isExactMatch: true, doCreate: false }
                ]
            }),
            expect.objectContaining({ entityName: 'Case', saveToTranscript: 'CaseId' })
        ]);
        await h.recorder.waitForCount(1);
        expect(h.recorder.events()[0]).toEqual({ type: 'queued', position: 3, estimatedWaitSeconds: 90 });
        h.emulator.setWaitTime(30, 2);
        await h.recorder.waitFor((e) => e.type === 'queued' && e.position === 2);

        // A message before the agent accepted waits for the acceptance (Salesforce answers 500 before it).
        const early = h.adapter.sendMessage('h1', state, { messageId: 'm1', text: 'hello?' });
        h.emulator.accept(chat.conversationId, 'Priya');
        await early;
        const joined = await h.recorder.waitFor((e) => e.type === 'agent_joined');
        expect(joined.state?.data['established']).toBe(true);
        expect(h.salesforce.records('LiveChatTranscript')[0]).toMatchObject({
            ChatKey: chat.conversationId,
            CaseId: kase['Id'],
            ContactId: contact['Id'],
            Body: 'refund_request'
        });

        h.emulator.agentTyping(chat.conversationId, true);
        const positions = ['one', 'two', 'three'].map((t) => h.emulator.agentMessage(chat.conversationId, t));
        h.emulator.agentTyping(chat.conversationId, false);
        await h.recorder.waitFor((e) => e.type === 'agent_typing' && !e.typing);
        const messages = h.recorder.envelopes.filter((e) => e.event.type === 'agent_message');
        expect(messages.map((e) => e.event)).toEqual(
            ['one', 'two', 'three'].map((text, i) => ({
                type: 'agent_message',
                text,
                agentName: 'Priya',
                messageId: `${chat.conversationId}:${positions[i]}`
            }))
        );
        expect(messages.map((e) => e.cursor)).toEqual(positions);

        await h.adapter.sendTyping('h1', state, true);
        await h.adapter.sendMessage('h1', state, { messageId: 'm2', text: 'thanks' });
        await h.adapter.sendMessage('h1', state, { messageId: 'm2', text: 'thanks' });
        expect(h.emulator.messagesFrom(chat.conversationId).map((m) => m.text)).toEqual(['hello?', 'thanks']);

        h.emulator.transfer(chat.conversationId, 'Ravi');
        await h.recorder.waitFor((e) => e.type === 'agent_joined' && e.agentName === 'Ravi');
        h.emulator.end(chat.conversationId);
        await h.recorder.waitFor((e) => e.type === 'ended');
        const types = h.recorder.events().map((e) => e.type);
        expect(types.slice(-3)).toEqual(['transferring', 'agent_joined', 'ended']);
        expect(h.recorder.events().at(-1)).toEqual({ type: 'ended', by: 'agent' });
        const sent = h.emulator.requests.filter((r) => r.path.endsWith('/Chasitor/ChatMessage') && r.status === 200);
        // ChasitorInit was 1, typing took 3; the repeated m2 was not sent again.
        expect(sent.map((r) => r.sequence)).toEqual([2, 4]);
    });

    it('never has two polls open, across held polls, answers, reconnects and ends', async () => {
        const state = await h.adapter.open(openRequest('h2'));
        const id = String(state.data['sessionId']);
        h.emulator.accept(id, 'Priya');
        for (let i = 0; i < 5; i++) {
            h.emulator.agentMessage(id, `m${i}`);
            await new Promise((resolve) => setTimeout(resolve, 120));
        }
        h.emulator.changeAffinity(id);
        h.emulator.agentMessage(id, 'after move');
        await eventually(() => (agentTexts(h.recorder.events()).includes('after move') ? true : undefined));
        // Several hold periods pass with the loop idle.
        await eventually(() => (h.emulator.requests.filter((r) => r.status === 204).length >= 2 ? true : undefined));
        await h.adapter.end('h2', state);
        expect(h.emulator.stats.conflicts).toBe(0);
        expect(h.emulator.stats.maxConcurrentPolls).toBe(1);
        expect(h.emulator.conversations()[0]).toMatchObject({ status: 'Ended', endedBy: 'Visitor' });
    });

    it('503 → ReconnectSession with the last offset: nothing lost or repeated, the sequence starts over', async () => {
        const state = await h.adapter.open(openRequest('h3'));
        const id = String(state.data['sessionId']);
        h.emulator.accept(id, 'Priya');
        h.emulator.agentMessage(id, 'a1');
        await eventually(() => (agentTexts(h.recorder.events()).includes('a1') ? true : undefined));
        await h.adapter.sendMessage('h3', state, { messageId: 'u1', text: 'u1' });
        const offsetBefore = h.recorder.envelopes.at(-1)!.cursor;

        h.emulator.changeAffinity(id);
        h.emulator.agentMessage(id, 'a2');
        h.emulator.agentMessage(id, 'a3');
        await h.adapter.sendMessage('h3', state, { messageId: 'u2', text: 'u2' });
        await eventually(() => (agentTexts(h.recorder.events()).includes('a3') ? true : undefined));
        h.emulator.agentMessage(id, 'a4');
        await eventually(() => (agentTexts(h.recorder.events()).includes('a4') ? true : undefined));

        expect(agentTexts(h.recorder.events())).toEqual(['a1', 'a2', 'a3', 'a4']);
        expect(h.emulator.messagesFrom(id).map((m) => m.text)).toEqual(['u1', 'u2']);
        const reconnects = h.emulator.requests.filter((r) => r.path.endsWith('/System/ReconnectSession'));
        expect(reconnects).toHaveLength(1);
        expect(reconnects[0]!.status).toBe(200);
        const afterReconnect = h.emulator.requests.filter(
            (r) => r.path.endsWith('/Chasitor/ChatMessage') && r.at >= reconnects[0]!.at
        );
        expect(afterReconnect.find((r) => r.status === 200)?.sequence).toBe(1);
        expect(h.emulator.requests.some((r) => r.path.endsWith('/Chasitor/ChasitorResyncState'))).toBe(true);
        const latest = h.recorder.envelopes.filter((e) => e.state).at(-1)!;
        expect(latest.state!.data['affinityToken']).not.toBe(state.data['affinityToken']);
        expect(Number(offsetBefore)).toBeGreaterThan(0);
        expect(h.emulator.stats.conflicts).toBe(0);
    });

    it('resumes after a restart from the stored state: missed messages once, an unconfirmed send not twice', async () => {
        const opened = await h.adapter.open(openRequest('h4'));
        const id = String(opened.data['sessionId']);
        h.emulator.accept(id, 'Priya');
        h.emulator.agentMessage(id, 'before');
        await eventually(() => (agentTexts(h.recorder.events()).includes('before') ? true : undefined));
        await h.adapter.sendMessage('h4', opened, { messageId: 'u1', text: 'sent before the crash' });
        const stored = storedState(h.recorder.envelopes, opened);
        await h.adapter.close();

        h.emulator.agentMessage(id, 'while down 1');
        h.emulator.agentMessage(id, 'while down 2');
        const next = h.newAdapter();
        await next.adapter.resume('h4', stored);
        await eventually(() => (agentTexts(next.recorder.events()).includes('while down 2') ? true : undefined));
        // The outbox had not marked u1 done: it is sent again, and recognised in the resynced transcript.
        await next.adapter.sendMessage('h4', stored, { messageId: 'u1', text: 'sent before the crash' });
        await next.adapter.sendMessage('h4', stored, { messageId: 'u2', text: 'after the restart' });
        h.emulator.agentMessage(id, 'after');
        await eventually(() => (agentTexts(next.recorder.events()).includes('after') ? true : undefined));

        expect(agentTexts(next.recorder.events())).toEqual(['while down 1', 'while down 2', 'after']);
        expect(h.emulator.messagesFrom(id).map((m) => m.text)).toEqual(['sent before the crash', 'after the restart']);
        expect(h.emulator.stats.conflicts).toBe(0);
        expect(h.emulator.stats.reconnects).toBe(1);
    });

    it('with nobody online the chat is not requested and fails as no_agents at once', async () => {
        h.emulator.setAvailability(false);
        const state = await h.adapter.open(openRequest('h5'));
        expect(state.data).toEqual({ unavailable: true });
        const failed = await h.recorder.waitFor((e) => e.type === 'failed');
        expect(failed.event).toMatchObject({ type: 'failed', reason: 'no_agents' });
        expect(h.emulator.requests.some((r) => r.path.endsWith('/System/SessionId'))).toBe(false);
        await h.adapter.sendMessage('h5', state, { messageId: 'x', text: 'ignored' });
        await h.adapter.end('h5', state);
    });

    it('without the availability check, ChatRequestFail is the no-agents path', async () => {
        h.emulator.setAvailability(false);
        const { adapter, recorder } = h.newAdapter({ availabilityCheck: false });
        await adapter.open(openRequest('h6'));
        const failed = await recorder.waitFor((e) => e.type === 'failed');
        expect(failed.event).toEqual({ type: 'failed', reason: 'no_agents', detail: 'Unavailable' });
    });
});
