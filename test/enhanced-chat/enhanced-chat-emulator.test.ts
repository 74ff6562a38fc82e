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

describe('Enhanced Chat emulator: the /file route (issue 18)', () => {
    let emulator: EnhancedChatEmulator;
    let accessToken: string;
    const MESSAGE_ID = '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

    beforeEach(async () => {
        emulator = await startEnhancedChatEmulator({
            orgId: ORG_ID,
            esDeveloperName: ES_NAME,
            files: { maxBytes: 1000 }
        });
        const tokenAnswer = await fetch(`${emulator.url}/iamessage/api/v2/authorization/unauthenticated/access-token`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ orgId: ORG_ID, esDeveloperName: ES_NAME, capabilitiesVersion: '1', platform: 'Web' })
        });
        accessToken = ((await tokenAnswer.json()) as { accessToken: string }).accessToken;
        const created = await fetch(`${emulator.url}/iamessage/api/v2/conversation`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${accessToken}` },
            body: JSON.stringify({ conversationId: CONVERSATION, esDeveloperName: ES_NAME })
        });
        expect(created.status).toBe(201);
    });
    afterEach(() => emulator.close());

    const form = (entry: unknown, file?: { data: Buffer; type: string; name?: string }): FormData => {
        const body = new FormData();
        if (entry !== undefined) {
            body.append('messageEntry', new Blob([JSON.stringify(entry)], { type: 'application/json' }));
        }
        if (file) body.append('fileData', new Blob([file.data], { type: file.type }), file.name ?? 'photo.png');
        return body;
    };
    const entry = { esDeveloperName: ES_NAME, message: { id: MESSAGE_ID, fileId: 'f-1', text: 'the box' } };
    const upload = (body: FormData | string, token = accessToken, signal?: AbortSignal) =>
        fetch(`${emulator.url}/iamessage/api/v2/conversation/${CONVERSATION}/file`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${token}` },
            body,
            ...(signal === undefined ? {} : { signal })
        });

    it('takes a multipart upload (202) and records it once, with an Attachments entry from the end user', async () => {
        const png = Buffer.from('89504e470d0a1a0a', 'hex');

        expect((await upload(form(entry, { data: png, type: 'image/png' }))).status).toBe(202);
        expect((await upload(form(entry, { data: png, type: 'image/png' }))).status).toBe(202);

        expect(emulator.filesFrom(CONVERSATION)).toEqual([
            expect.objectContaining({ messageId: MESSAGE_ID, name: 'photo.png', size: 8, text: 'the box' })
        ]);
        const last = emulator.events(CONVERSATION).at(-1);
        expect(last?.type).toBe('CONVERSATION_MESSAGE');
        expect(JSON.parse(last?.data.conversationEntry.entryPayload ?? '{}')).toMatchObject({
            abstractMessage: { staticContent: { formatType: 'Attachments', attachments: [{ name: 'photo.png' }] } }
        });
    });

    it('answers 413 over the size limit, 415 for a type the deployment refuses, 403 with uploads off', async () => {
        expect((await upload(form(entry, { data: Buffer.alloc(1001), type: 'image/png' }))).status).toBe(413);
        expect((await upload(form(entry, { data: Buffer.from('<p>'), type: 'text/html' }))).status).toBe(415);
        emulator.setUploads(false);
        expect((await upload(form(entry, { data: Buffer.from('x'), type: 'image/png' }))).status).toBe(403);
        expect(emulator.filesFrom(CONVERSATION)).toEqual([]);
    });

    it('holds an upload for a client that dies mid-call: cut off half-way nothing is stored; taken, no answer comes', async () => {
        const png = { data: Buffer.from('89504e470d0a1a0a', 'hex'), type: 'image/png' };
        // Half-way: the emulator stops reading once part of the file is in, and never answers.
        emulator.failNext(1, { on: 'file', stall: 'upload' });
        const halfway = new AbortController();
        const cut = upload(
            form(entry, { data: Buffer.alloc(256 * 1024, 1), type: 'image/png' }),
            accessToken,
            halfway.signal
        ).catch((error: unknown) => error);
        await emulator.waitFor((e) => e.stats.stalledUploads === 1);
        halfway.abort();
        expect(await cut).toHaveProperty('name', 'AbortError');
        expect(emulator.filesFrom(CONVERSATION)).toEqual([]);

        // Taken, never answered: the agent has the file; its repeat under the same id is answered, not stored again.
        emulator.failNext(1, { on: 'file', stall: 'answer' });
        const taken = new AbortController();
        const lost = upload(form(entry, png), accessToken, taken.signal).catch((error: unknown) => error);
        await emulator.waitFor((e) => e.stats.stalledUploads === 2);
        expect(emulator.filesFrom(CONVERSATION)).toHaveLength(1);
        taken.abort();
        expect(await lost).toHaveProperty('name', 'AbortError');
        expect((await upload(form(entry, png))).status).toBe(202);
        expect(emulator.filesFrom(CONVERSATION)).toHaveLength(1);
        expect(emulator.requests.filter((r) => r.path.endsWith('/file')).map((r) => r.status)).toEqual([-1, -1, 202]);
    });

    it('answers 400 to a JSON body, a missing messageEntry or file, and 401 without the token', async () => {
        const png = { data: Buffer.from('x'), type: 'image/png' };
        expect((await upload(JSON.stringify(entry))).status).toBe(400);
        expect((await upload(form(undefined, png))).status).toBe(400);
        expect((await upload(form(entry))).status).toBe(400);
        expect((await upload(form({ ...entry, esDeveloperName: 'Other' }, png))).status).toBe(400);
        expect((await upload(form(entry, png), 'not-a-token')).status).toBe(401);
    });
});
