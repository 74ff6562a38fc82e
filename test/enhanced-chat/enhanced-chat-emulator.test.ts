/** The Enhanced Chat emulator speaks the documented shapes, enforces Salesforce's limits and auth. */
import { startEnhancedChatEmulator } from '../emulators/enhanced-chat';
import type { EnhancedChatEmulator } from '../emulators/enhanced-chat';
import { ES_NAME, ORG_ID } from './harness';

const CONVERSATION = '2d5e8f10-3a4b-4c5d-8e9f-a0b1c2d3e4f5';

describe('Enhanced Chat emulator', () => {
    let emulator: EnhancedChatEmulator;

    beforeEach(async () => {
        emulator = await startEnhancedChatEmulator({
            orgId: ORG_ID,
            esDeveloperName: ES_NAME,
            limits: { tokensPerWindow: 2, messagesPerWindow: 2, windowMs: 60_000 }
        });
    });
    afterEach(() => emulator.close());

    const post = (path: string, body: unknown, token?: string) =>
        fetch(`${emulator.url}${path}`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
            body: JSON.stringify(body)
        });
    const token = async (): Promise<string> => {
        const res = await post('/iamessage/api/v2/authorization/unauthenticated/access-token', {
            orgId: ORG_ID.slice(0, 15),
            esDeveloperName: ES_NAME,
            capabilitiesVersion: '1',
            platform: 'Web'
        });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { accessToken: string; lastEventId: string; context: unknown };
        expect(body.lastEventId).toBe('0');
        expect(body.context).toHaveProperty('configuration.embeddedServiceConfig');
        return body.accessToken;
    };

    it('answers 429 beyond the token limit per org, and 400 for a wrong deployment', async () => {
        await token();
        await token();
        const third = await post('/iamessage/api/v2/authorization/unauthenticated/access-token', {
            orgId: ORG_ID,
            esDeveloperName: ES_NAME
        });
        expect(third.status).toBe(429);
        const wrong = await post('/iamessage/api/v2/authorization/unauthenticated/access-token', {
            orgId: ORG_ID,
            esDeveloperName: 'Nope'
        });
        expect(wrong.status).toBe(400);
    });

    it('stores conversations and messages idempotently, throttles messages, and lists entries with string payloads', async () => {
        const jwt = await token();
        const created = await post(
            '/iamessage/api/v2/conversation',
            {
                conversationId: CONVERSATION,
                esDeveloperName: ES_NAME,
                routingAttributes: { Channel: 'Web' }
            },
            jwt
        );
        expect(created.status).toBe(201);
        const upper = await post(
            '/iamessage/api/v2/conversation',
            {
                conversationId: CONVERSATION.toUpperCase(),
                esDeveloperName: ES_NAME
            },
            jwt
        );
        expect(upper.status).toBe(400);

        const message = (id: string, text: string) =>
            post(
                `/iamessage/api/v2/conversation/${CONVERSATION}/message`,
                {
                    message: { id, messageType: 'StaticContentMessage', staticContent: { formatType: 'Text', text } },
                    esDeveloperName: ES_NAME
                },
                jwt
            );
        const id1 = '11111111-1111-4111-8111-111111111111';
        expect((await message(id1, 'one')).status).toBe(202);
        expect((await message(id1, 'one')).status).toBe(202);
        expect((await message('22222222-2222-4222-8222-222222222222', 'two')).status).toBe(202);
        expect((await message('33333333-3333-4333-8333-333333333333', 'three')).status).toBe(429);
        expect(emulator.messagesFrom(CONVERSATION).map((m) => m.text)).toEqual(['one', 'two']);

        const entries = await fetch(`${emulator.url}/iamessage/api/v2/conversation/${CONVERSATION}/entries?limit=50`, {
            headers: { Authorization: `Bearer ${jwt}` }
        });
        const listed = (await entries.json()) as {
            conversationEntries: { entryType: string; entryPayload: unknown }[];
        };
        expect(listed.conversationEntries.map((e) => e.entryType)).toEqual([
            'SessionStatusChanged',
            'RoutingResult',
            'Message',
            'Message'
        ]);
        for (const entry of listed.conversationEntries) expect(typeof entry.entryPayload).toBe('string');
    });

    it('answers 401 `Jwt is expired` (plain text) to an expired token, and 401 to a stream without one', async () => {
        const jwt = await token();
        emulator.expireTokens();
        const created = await post(
            '/iamessage/api/v2/conversation',
            { conversationId: CONVERSATION, esDeveloperName: ES_NAME },
            jwt
        );
        expect(created.status).toBe(401);
        // As the service's gateway answers it: plain text, not the JSON error shape.
        expect(created.headers.get('content-type')).toBe('text/plain');
        expect(await created.text()).toBe('Jwt is expired');
        const stream = await fetch(`${emulator.url}/eventrouter/v1/sse`, { headers: { 'X-Org-Id': ORG_ID } });
        expect(stream.status).toBe(401);
        await stream.body?.cancel();
    });

    it('is driven over HTTP by the agent control routes', async () => {
        const jwt = await token();
        await post('/iamessage/api/v2/conversation', { conversationId: CONVERSATION, esDeveloperName: ES_NAME }, jwt);
        expect((await post(`/__emulator/conversations/${CONVERSATION}/accept`, { agentName: 'Asha' })).status).toBe(
            200
        );
        const sent = await post(`/__emulator/conversations/${CONVERSATION}/message`, { text: 'Hi from Asha' });
        expect(((await sent.json()) as { identifier: string }).identifier).toMatch(/^[0-9a-f-]{36}$/);
        expect((await post(`/__emulator/conversations/${CONVERSATION}/end`, {})).status).toBe(200);
        const listed = (await (await fetch(`${emulator.url}/__emulator/conversations`)).json()) as {
            status: string;
            sessionEndedByRole: string;
        }[];
        expect(listed[0]).toMatchObject({ status: 'Ended', sessionEndedByRole: 'Agent' });
        expect(emulator.events(CONVERSATION).map((e) => e.type)).toEqual([
            'CONVERSATION_SESSION_STATUS_CHANGED',
            'CONVERSATION_ROUTING_RESULT',
            'CONVERSATION_PARTICIPANT_CHANGED',
            'CONVERSATION_SESSION_STATUS_CHANGED',
            'CONVERSATION_MESSAGE',
            'CONVERSATION_SESSION_STATUS_CHANGED',
            'CONVERSATION_PARTICIPANT_CHANGED'
        ]);
    });
});
