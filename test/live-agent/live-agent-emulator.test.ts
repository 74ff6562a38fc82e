/** The Live Agent emulator speaks the documented headers, status codes and payloads of salesforce.md §2. */
import { startLiveAgentEmulator } from '../emulators/live-agent';
import type { LiveAgentEmulator } from '../emulators/live-agent';
import { startSalesforceEmulator } from '../emulators/salesforce';
import type { SalesforceEmulator } from '../emulators/salesforce';
import { BUTTON_ID, DEPLOYMENT_ID, ORG_ID } from './harness';

interface Session {
    id: string;
    key: string;
    affinityToken: string;
    clientPollTimeout: number;
}

describe('Live Agent emulator', () => {
    let emulator: LiveAgentEmulator;
    let salesforce: SalesforceEmulator;
    let sequence = 0;

    beforeEach(async () => {
        salesforce = await startSalesforceEmulator({ clientId: 'id', clientSecret: 'secret', orgId: ORG_ID });
        emulator = await startLiveAgentEmulator({
            orgId: ORG_ID,
            deploymentId: DEPLOYMENT_ID,
            buttonId: BUTTON_ID,
            salesforce,
            pollHoldMs: 200
        });
        sequence = 0;
    });
    afterEach(async () => {
        await emulator.close();
        await salesforce.close();
    });

    const rest = (resource: string): string => `${emulator.endpoint}/rest/${resource}`;
    const headers = (session?: Session, extra: Record<string, string> = {}): Record<string, string> => ({
        'X-LIVEAGENT-API-VERSION': '64',
        'X-LIVEAGENT-AFFINITY': session?.affinityToken ?? 'null',
        ...(session ? { 'X-LIVEAGENT-SESSION-KEY': session.key } : {}),
        ...extra
    });
    const post = (session: Session, noun: string, body?: unknown, seq = ++sequence): Promise<Response> =>
        fetch(rest(`Chasitor/${noun}`), {
            method: 'POST',
            headers: {
                ...headers(session, { 'X-LIVEAGENT-SEQUENCE': String(seq) }),
                'Content-Type': 'application/json'
            },
            ...(body === undefined ? {} : { body: JSON.stringify(body) })
        });
    const poll = (session: Session, ack: number): Promise<Response> =>
        fetch(rest(`System/Messages?ack=${ack}`), { headers: headers(session) });

    const newSession = async (): Promise<Session> => {
        const res = await fetch(rest('System/SessionId'), { headers: headers() });
        expect(res.status).toBe(200);
        return (await res.json()) as Session;
    };
    const init = (session: Session, overrides: Record<string, unknown> = {}): Promise<Response> =>
        post(session, 'ChasitorInit', {
            organizationId: ORG_ID,
            deploymentId: DEPLOYMENT_ID,
            buttonId: BUTTON_ID,
            sessionId: session.id,
            visitorName: 'Asha',
            language: 'en',
            prechatDetails: [
                { label: 'Haptik Conversation Key', value: '343:u1:1', transcriptFields: [], displayToAgent: true },
                { label: 'Intent', value: 'refund', transcriptFields: ['Body'], displayToAgent: true }
            ],
            prechatEntities: [
                {
                    entityName: 'Case',
                    saveToTranscript: 'CaseId',
                    entityFieldsMaps: [
                        {
                            fieldName: 'Haptik_Conversation_Key__c',
                            label: 'Haptik Conversation Key',
                            doFind: true,
                            isExactMatch: true,
                            doCreate: false
                        }
                    ]
                }
            ],
            receiveQueueUpdates: true,
            isPost: true,
            ...overrides
        });

    it('checks the API version and affinity headers, and issues sessions with clientPollTimeout', async () => {
        const noVersion = await fetch(rest('System/SessionId'), { headers: { 'X-LIVEAGENT-AFFINITY': 'null' } });
        expect(noVersion.status).toBe(400);
        const noAffinity = await fetch(rest('System/SessionId'), { headers: { 'X-LIVEAGENT-API-VERSION': '64' } });
        expect(noAffinity.status).toBe(400);
        const session = await newSession();
        expect(session).toEqual({
            id: expect.any(String) as unknown,
            key: expect.stringContaining(session.id) as unknown,
            affinityToken: expect.any(String) as unknown,
            clientPollTimeout: 40
        });
        const wrongButton = await init(session, { buttonId: '573000000000000' });
        expect(wrongButton.status).toBe(400);
    });

    it('long-polls: pending messages at once, a held poll ends in 204, acks select what is sent again', async () => {
        emulator.setWaitTime(120, 2);
        const session = await newSession();
        expect((await init(session)).status).toBe(200);
        const first = await poll(session, -1);
        expect(first.status).toBe(200);
        const batch = (await first.json()) as {
            messages: Array<{ type: string; message: unknown }>;
            sequence: number;
            offset: number;
        };
        expect(batch.messages).toEqual([
            {
                type: 'ChatRequestSuccess',
                message: expect.objectContaining({
                    queuePosition: 2,
                    estimatedWaitTime: 120,
                    connectionTimeout: 150000
                }) as unknown
            }
        ]);
        expect(batch.offset).toBe(1);
        // Not acknowledged: sent again.
        const again = (await (await poll(session, -1)).json()) as { sequence: number; offset: number };
        expect(again.offset).toBe(1);
        const held = await poll(session, again.sequence);
        expect(held.status).toBe(204);

        const waiting = poll(session, again.sequence);
        await emulator.waitFor((e) => e.requests.filter((r) => r.path.endsWith('Messages')).length === 4);
        const [conversation] = emulator.conversations();
        emulator.accept(conversation!.conversationId, 'Priya');
        const established = (await (await waiting).json()) as { messages: Array<{ type: string; message: unknown }> };
        expect(established.messages).toEqual([
            {
                type: 'ChatEstablished',
                message: expect.objectContaining({
                    name: 'Priya',
                    userId: expect.stringMatching(/^005/) as unknown,
                    items: []
                }) as unknown
            }
        ]);
    });

    it('a second poll while one is open answers 409 and ends the chat; then 403', async () => {
        const session = await newSession();
        await init(session);
        const ack = ((await (await poll(session, -1)).json()) as { sequence: number }).sequence;
        const open = poll(session, ack);
        await emulator.waitFor((e) => e.stats.polls === 2);
        const second = await poll(session, ack);
        expect(second.status).toBe(409);
        expect((await open).status).toBe(409);
        expect(emulator.stats.conflicts).toBe(1);
        expect((await poll(session, ack)).status).toBe(403);
        const transcript = salesforce.records('LiveChatTranscript')[0]!;
        expect(transcript).toMatchObject({ ChatKey: session.id, Status: 'Dropped', EndedBy: 'System' });
    });

    it('drops POSTs by sequence, refuses messages before ChatEstablished, keeps a transcript with the Case', async () => {
        const kase = salesforce.insert('Case', { Subject: 'x', Haptik_Conversation_Key__c: '343:u1:1' });
        const session = await newSession();
        await init(session);
        const chat = emulator.conversations()[0]!;
        expect(chat.conversationKey).toBe('343:u1:1');
        expect(chat.routingAttributes).toEqual({ 'Haptik Conversation Key': '343:u1:1', Intent: 'refund' });
        expect((await post(session, 'ChatMessage', { text: 'too early' })).status).toBe(500);
        emulator.accept(chat.conversationId, 'Priya');
        expect((await post(session, 'ChatMessage', { text: 'hello' }, 10)).status).toBe(200);
        expect((await post(session, 'ChatMessage', { text: 'hello' }, 10)).status).toBe(200);
        expect((await post(session, 'ChatMessage', { text: 'hello again' }, 11)).status).toBe(200);
        expect((await post(session, 'ChatMessage', { text: 'no header' }, Number.NaN)).status).toBe(400);
        expect(emulator.messagesFrom(chat.conversationId).map((m) => m.text)).toEqual(['hello', 'hello again']);
        expect(emulator.stats.duplicatesDropped).toBe(1);
        const end = await post(session, 'ChatEnd', { reason: 'client' }, 12);
        expect(end.status).toBe(200);
        expect((await poll(session, -1)).status).toBe(200); // what was never acknowledged is still delivered
        const transcript = salesforce.records('LiveChatTranscript')[0]!;
        expect(transcript).toMatchObject({
            ChatKey: session.id,
            CaseId: kase['Id'],
            Status: 'Completed',
            EndedBy: 'Visitor',
            LiveChatButtonId: BUTTON_ID,
            LiveChatDeploymentId: DEPLOYMENT_ID
        });
        expect(String(transcript['Body'])).toContain('Asha: hello again');
    });

    it('503 after an affinity change until ReconnectSession, which resets the sequence and resends from the offset', async () => {
        const session = await newSession();
        await init(session);
        const chat = emulator.conversations()[0]!;
        emulator.accept(chat.conversationId, 'Priya');
        const firstBatch = (await (await poll(session, -1)).json()) as { sequence: number; offset: number };
        expect(firstBatch.offset).toBe(2);
        await post(session, 'ChatMessage', { text: 'before' }, 5);
        emulator.agentMessage(chat.conversationId, 'missed 1');
        emulator.agentMessage(chat.conversationId, 'missed 2');
        emulator.changeAffinity(chat.conversationId);
        expect((await poll(session, firstBatch.sequence)).status).toBe(503);
        expect((await post(session, 'ChatMessage', { text: 'lost' }, 6)).status).toBe(503);

        const reconnect = await fetch(rest(`System/ReconnectSession?ReconnectSession.offset=${firstBatch.offset}`), {
            headers: headers(session)
        });
        expect(reconnect.status).toBe(200);
        const reply = (await reconnect.json()) as {
            messages: Array<{ type: string; message: { resetSequence: boolean; affinityToken: string } }>;
        };
        expect(reply.messages[0]!.type).toBe('ReconnectSession');
        expect(reply.messages[0]!.message.resetSequence).toBe(true);
        const moved = { ...session, affinityToken: reply.messages[0]!.message.affinityToken };
        expect(moved.affinityToken).not.toBe(session.affinityToken);
        expect((await poll(session, -1)).status).toBe(503);

        const resync = await fetch(rest('Chasitor/ChasitorResyncState'), {
            method: 'POST',
            headers: { ...headers(moved), 'Content-Type': 'application/json' },
            body: JSON.stringify({ organizationId: ORG_ID })
        });
        expect(resync.status).toBe(200);
        const after = (await (await poll(moved, -1)).json()) as {
            messages: Array<{ type: string; message: Record<string, unknown> }>;
            offset: number;
        };
        expect(after.messages.map((m) => m.type)).toEqual(['ChatMessage', 'ChatMessage', 'ChasitorSessionData']);
        expect(after.offset).toBe(5);
        const data = after.messages[2]!.message as { chatMessages: Array<{ type: string; content: string }> };
        expect(data.chatMessages.map((m) => [m.type, m.content])).toEqual([
            ['Chasitor', 'before'],
            ['Agent', 'missed 1'],
            ['Agent', 'missed 2']
        ]);
        // The sequence starts over after the reset.
        expect((await post(moved, 'ChatMessage', { text: 'after' }, 1)).status).toBe(200);
        expect(emulator.messagesFrom(chat.conversationId).map((m) => m.text)).toEqual(['before', 'after']);
    });

    it('answers Visitor/Availability per button, and ChatRequestFail when nobody is online', async () => {
        const query = `org_id=${ORG_ID.slice(0, 15)}&deployment_id=${DEPLOYMENT_ID}&Availability.ids=${BUTTON_ID}&Availability.needEstimatedWaitTime=1`;
        const online = await fetch(rest(`Visitor/Availability?${query}`), {
            headers: { 'X-LIVEAGENT-API-VERSION': '64' }
        });
        expect(await online.json()).toEqual({
            messages: [
                {
                    type: 'Availability',
                    message: { results: [{ id: BUTTON_ID, isAvailable: true, estimatedWaitTime: 30 }] }
                }
            ]
        });
        emulator.setAvailability(false);
        const offline = await fetch(rest(`Visitor/Availability?${query}`), {
            headers: { 'X-LIVEAGENT-API-VERSION': '64' }
        });
        expect(await offline.json()).toEqual({
            messages: [{ type: 'Availability', message: { results: [{ id: BUTTON_ID }] } }]
        });
        const session = await newSession();
        await init(session);
        const batch = (await (await poll(session, -1)).json()) as {
            messages: Array<{ type: string; message: unknown }>;
        };
        expect(batch.messages).toEqual([
            { type: 'ChatRequestFail', message: { reason: 'Unavailable', postChatUrl: '' } }
        ]);
        expect((await poll(session, -1)).status).toBe(200);
        expect(salesforce.records('LiveChatTranscript')[0]).toMatchObject({ Status: 'Missed' });
    });

    it('takes the agent console control routes over HTTP, as the Enhanced Chat emulator does', async () => {
        const control = (path: string, body: unknown): Promise<Response> =>
            fetch(`${emulator.url}/__emulator/${path}`, {
                method: 'POST',
                headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify(body)
            });
        const session = await newSession();
        expect((await init(session)).status).toBe(200);
        expect((await control(`conversations/${session.id}/accept`, { agentName: 'Priya' })).status).toBe(200);
        expect((await control(`conversations/${session.id}/message`, { text: 'Hello from Priya' })).status).toBe(200);
        const listed = (await (await fetch(`${emulator.url}/__emulator/conversations`)).json()) as Array<{
            conversationId: string;
            status: string;
            agentName?: string;
        }>;
        expect(listed).toEqual([
            expect.objectContaining({ conversationId: session.id, status: 'Active', agentName: 'Priya' })
        ]);
        const batch = (await (await poll(session, -1)).json()) as { messages: Array<{ type: string }> };
        expect(batch.messages.map((m) => m.type)).toEqual(
            expect.arrayContaining(['ChatRequestSuccess', 'ChatEstablished', 'ChatMessage'])
        );
        // Routes only the Live Agent emulator has, and a clear refusal of unknown ones.
        expect((await control(`conversations/${session.id}/change-affinity`, {})).status).toBe(200);
        expect((await poll(session, -1)).status).toBe(503);
        const unknown = await control(`conversations/${session.id}/dance`, {});
        expect(unknown.status).toBe(400);
        expect(await unknown.json()).toEqual({ message: 'unknown conversation action' });
    });
});
