import { isBridgeError } from '../../bridge/src/core/errors';
import { createHaptikClient } from '../../bridge/src/haptik/haptik-client';
import { documentHsl, imageHsl } from '../../bridge/src/haptik/hsl';
import type { HaptikClient } from '../../bridge/src/haptik/haptik-client';
import { silentLogger } from '../../bridge/src/observability/logger';
import { startHaptikEmulator } from '../emulators/haptik/haptik-emulator';
import type { HaptikEmulator } from '../emulators/haptik/haptik-emulator';

const CREDENTIALS = { clientId: 'client-42', apiToken: 'token-abc', businessId: 343 };

async function rejection(promise: Promise<unknown>): Promise<unknown> {
    try {
        await promise;
    } catch (error) {
        return error;
    }
    throw new Error('expected the call to fail');
}

describe('Haptik client against the emulator', () => {
    let emulator: HaptikEmulator;
    let client: HaptikClient;

    beforeAll(async () => {
        emulator = await startHaptikEmulator(CREDENTIALS);
        client = createHaptikClient({ ...CREDENTIALS, baseUrl: `${emulator.url}/`, logger: silentLogger() });
    });

    afterAll(async () => {
        await emulator.close();
    });

    beforeEach(() => emulator.reset());

    it('sends an agent text as TEXT HSL with the contract headers and sender aeu', async () => {
        await client.sendMessage({ userId: 'u-1', text: 'Hi, this is Maya', metadata: { message_id: 'm-1' } });

        const call = await emulator.waitFor((c) => c.path === '/tract/message/send/');
        expect(call.method).toBe('POST');
        expect(call.headers['client-id']).toBe('client-42');
        expect(call.headers.authorization).toBe('Bearer token-abc');
        expect(call.headers['content-type']).toBe('application/json');
        expect(call.body).toEqual({
            user_id: 'u-1',
            message_body: JSON.stringify({ text: 'Hi, this is Maya', type: 'TEXT', data: { quick_replies: [] } }),
            sender: 'aeu',
            metadata: { message_id: 'm-1' }
        });
        expect(emulator.messagesTo('u-1')).toEqual([
            expect.objectContaining({ text: 'Hi, this is Maya', sender: 'aeu', metadata: { message_id: 'm-1' } })
        ]);
    });

    it('sends ready-made HSL unchanged', async () => {
        const hsl = { text: 'Pick one', type: 'BUTTON', data: { items: [{ actionable_text: 'Yes' }] } };

        await client.sendMessage({ userId: 'u-2', hsl, metadata: { message_id: 'm-2' } });

        expect(emulator.messagesTo('u-2')[0]?.hsl).toEqual(hsl);
    });

    it('sends events with string metadata and thread control in the documented shapes', async () => {
        emulator.giveToEct('u-3');
        await client.sendEvent({
            userId: 'u-3',
            category: 'message',
            subcategory: 'allocated',
            metadata: { agent_name: 'Maya' }
        });
        const result = await client.passThreadControl({
            userId: 'u-3',
            requester: emulator.ectReceiver,
            receiver: 'iva'
        });

        expect(emulator.eventsTo('u-3')).toEqual([
            { category: 'message', subcategory: 'allocated', metadata: '{"agent_name":"Maya"}' }
        ]);
        const pass = emulator.calls.find((c) => c.path === '/tract/thread_control/request');
        expect(pass?.body).toEqual({ user_id: 'u-3', type: 'pass', requester: emulator.ectReceiver, receiver: 'iva' });
        expect(result).toEqual({ success: true, reason: '' });
        expect(emulator.activeReceiver('u-3')).toBe('iva');
    });

    it('refuses an event an external chat tool cannot send, and object metadata', async () => {
        const wrongName = await rejection(
            client.sendEvent({ userId: 'u-4', category: 'collection_state', subcategory: 'allocated' })
        );
        const call = await fetch(`${emulator.url}/tract/events/send`, {
            method: 'POST',
            headers: {
                'client-id': 'client-42',
                Authorization: 'Bearer token-abc',
                'Content-Type': 'application/json'
            },
            body: JSON.stringify({ user_id: 'u-4', category: 'message', subcategory: 'allocated', metadata: { a: 1 } })
        });

        expect(isBridgeError(wrongName, 'bridge_haptik_rejected')).toBe(true);
        expect(call.status).toBe(400);
        expect(await call.json()).toEqual({ error: 'metadata must be a string' });
    });

    it('reads the thread-control listeners and the TRACT user', async () => {
        emulator.setUser('u-5', { userName: 'haptik_user_5' });

        const listeners = await client.listeners('u-5');
        const user = await client.getUser('u-5');
        const unknown = await rejection(client.getUser('nobody'));

        expect(listeners).toEqual([
            { id: 'iva', isDefault: true, isPrimary: true, active: true },
            { id: 'sac', isDefault: false, isPrimary: true, active: false },
            { id: emulator.ectReceiver, isDefault: false, isPrimary: false, active: false }
        ]);
        expect(user).toEqual({ userId: 'u-5', userName: 'haptik_user_5' });
        expect(isBridgeError(unknown, 'bridge_haptik_rejected')).toBe(true);
    });

    it('lets only the active receiver pass thread control', async () => {
        const result = await client.passThreadControl({
            userId: 'u-6',
            requester: emulator.ectReceiver,
            receiver: 'iva'
        });

        expect(result).toEqual({
            success: false,
            reason: 'only the active or a primary receiver may pass thread control'
        });
    });

    it('reads the chat history v2 with business_id, user_name and conversation_no', async () => {
        emulator.setChatHistory('haptik_user_7', 3, [
            { text: 'I need help', sender: 'user', message_id: 11, at: new Date(Date.UTC(2020, 5, 22, 7, 24, 25)) },
            {
                text: JSON.stringify({
                    text: 'Sure',
                    type: 'TEXT',
                    data: { quick_replies: [{ actionable_text: 'Agent' }] }
                }),
                sender: 'bot',
                message_id: 12,
                at: '06/22/20 07:25:00 PM UTC'
            }
        ]);

        const entries = await client.getChatHistory({ userName: 'haptik_user_7', conversationNo: 3 });

        const call = emulator.calls.find((c) => c.path === '/integration/external/v2.0/get_chat_history/');
        expect(call?.method).toBe('GET');
        expect(call?.query).toEqual({ business_id: '343', user_name: 'haptik_user_7', conversation_no: '3' });
        expect(entries).toEqual([
            {
                text: 'I need help',
                plainText: 'I need help',
                sender: 'user',
                messageId: '11',
                timestamp: '06/22/20 07:24:25 AM UTC',
                at: new Date('2020-06-22T07:24:25Z')
            },
            expect.objectContaining({
                plainText: 'Sure\nOptions: Agent',
                sender: 'bot',
                messageId: '12',
                at: new Date('2020-06-22T19:25:00Z')
            })
        ]);
    });

    it('throws bridge_haptik_unauthorized (not retryable) on 401, naming the settings to check', async () => {
        const wrong = createHaptikClient({
            ...CREDENTIALS,
            apiToken: 'wrong',
            baseUrl: emulator.url,
            logger: silentLogger()
        });

        const error = await rejection(wrong.sendMessage({ userId: 'u-1', text: 'x', metadata: { message_id: 'm' } }));

        expect(isBridgeError(error, 'bridge_haptik_unauthorized')).toBe(true);
        const bridgeError = error as { message: string; details: Record<string, unknown> };
        expect(bridgeError.details).toMatchObject({
            status: 401,
            retryable: false,
            haptikError: 'invalid authorization details'
        });
        expect(bridgeError.message).toContain('HAPTIK_CLIENT_ID');
        expect(bridgeError.message).toContain('HAPTIK_API_TOKEN');
        expect(bridgeError.message).not.toContain('wrong');
        expect(emulator.calls[0]?.status).toBe(401);
    });

    it('throws bridge_haptik_unavailable (retryable) on 503, and the next call succeeds', async () => {
        emulator.failNext(1, 503);

        const error = await rejection(
            client.sendEvent({ userId: 'u-1', category: 'message', subcategory: 'allocated' })
        );
        await client.sendEvent({ userId: 'u-1', category: 'message', subcategory: 'allocated' });

        expect(isBridgeError(error, 'bridge_haptik_unavailable')).toBe(true);
        expect((error as { details: Record<string, unknown> }).details).toMatchObject({ status: 503, retryable: true });
        expect(emulator.eventsTo('u-1')).toHaveLength(1);
    });

    it("throws bridge_haptik_rejected (not retryable) on another 4xx, with Haptik's error text", async () => {
        const error = await rejection(client.sendMessage({ userId: '', text: 'x', metadata: { message_id: 'm' } }));

        expect(isBridgeError(error, 'bridge_haptik_rejected')).toBe(true);
        expect((error as { details: Record<string, unknown> }).details).toMatchObject({
            status: 400,
            retryable: false,
            haptikError: 'missing user_id'
        });
    });

    it('treats 429 as retryable and keeps Retry-After', async () => {
        const fetchStub: typeof fetch = () =>
            Promise.resolve(new Response('{"error": "slow down"}', { status: 429, headers: { 'Retry-After': '7' } }));
        const throttled = createHaptikClient({
            ...CREDENTIALS,
            baseUrl: emulator.url,
            logger: silentLogger(),
            fetch: fetchStub
        });

        const error = await rejection(throttled.passThreadControl({ userId: 'u', requester: 'ect', receiver: 'iva' }));

        expect(isBridgeError(error, 'bridge_haptik_unavailable')).toBe(true);
        expect((error as { details: Record<string, unknown> }).details).toMatchObject({
            retryable: true,
            retryAfterMs: 7000
        });
    });

    it('throws bridge_haptik_unavailable (retryable) when Haptik cannot be reached', async () => {
        const closed = await startHaptikEmulator(CREDENTIALS);
        const baseUrl = closed.url;
        await closed.close();
        const unreachable = createHaptikClient({ ...CREDENTIALS, baseUrl, logger: silentLogger() });

        const error = await rejection(
            unreachable.sendEvent({ userId: 'u', category: 'message', subcategory: 'allocated' })
        );

        expect(isBridgeError(error, 'bridge_haptik_unavailable')).toBe(true);
        expect((error as { details: Record<string, unknown> }).details).toMatchObject({
            retryable: true,
            timedOut: false
        });
    });

    it('throws bridge_haptik_unavailable (retryable) on a timeout', async () => {
        const never: typeof fetch = (_url, init) =>
            new Promise((_resolve, reject) => {
                init?.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error));
            });
        const slow = createHaptikClient({
            ...CREDENTIALS,
            baseUrl: emulator.url,
            logger: silentLogger(),
            fetch: never,
            timeoutMs: 20
        });

        const error = await rejection(slow.getChatHistory({ userName: 'x', conversationNo: 1 }));

        expect(isBridgeError(error, 'bridge_haptik_unavailable')).toBe(true);
        expect((error as { details: Record<string, unknown> }).details).toMatchObject({
            retryable: true,
            timedOut: true
        });
    });
});

describe('Haptik emulator control over HTTP', () => {
    it('scripts failures and reads calls through /__emulator/', async () => {
        const emulator = await startHaptikEmulator(CREDENTIALS);
        try {
            await fetch(`${emulator.url}/__emulator/fail-next`, {
                method: 'POST',
                body: JSON.stringify({ count: 1, status: 500 })
            });
            const headers = {
                'client-id': 'client-42',
                Authorization: 'Bearer token-abc',
                'Content-Type': 'application/json'
            };
            const failed = await fetch(`${emulator.url}/tract/hooks/register/`, {
                method: 'POST',
                headers,
                body: JSON.stringify({
                    category: 'message',
                    subcategory: 'receive',
                    url: 'https://bridge/haptik/tract/message'
                })
            });
            const registered = await fetch(`${emulator.url}/tract/hooks/register/`, {
                method: 'POST',
                headers,
                body: JSON.stringify({
                    category: 'message',
                    subcategory: 'receive',
                    url: 'https://bridge/haptik/tract/message'
                })
            });
            const list = await fetch(`${emulator.url}/tract/hooks/list/`, { headers });
            const calls = (await (await fetch(`${emulator.url}/__emulator/calls`)).json()) as { calls: unknown[] };

            expect(failed.status).toBe(500);
            expect(registered.status).toBe(200);
            expect(await list.json()).toEqual({
                registered_webhooks: { message: { receive: 'https://bridge/haptik/tract/message' } }
            });
            expect(calls.calls).toHaveLength(3);
        } finally {
            await emulator.close();
        }
    });
});

describe('Haptik emulator: files (issue 18)', () => {
    let emulator: HaptikEmulator;
    let client: HaptikClient;

    beforeAll(async () => {
        emulator = await startHaptikEmulator(CREDENTIALS);
        client = createHaptikClient({ ...CREDENTIALS, baseUrl: `${emulator.url}/`, logger: silentLogger() });
    });

    afterAll(async () => {
        await emulator.close();
    });

    it('takes an image as a one-item carousel and a document as a LINK button', async () => {
        const link = 'https://bridge.example.com/files/abc.def';
        await client.sendMessage({ userId: 'u-f', hsl: imageHsl(link), metadata: { message_id: 'f-1' } });
        await client.sendMessage({
            userId: 'u-f',
            hsl: documentHsl(link, 'return-label.pdf'),
            metadata: { message_id: 'f-2' }
        });

        const [image, document] = emulator.messagesTo('u-f');
        expect(image?.hsl).toMatchObject({ type: 'CAROUSEL', data: { items: [{ thumbnail: { image: link } }] } });
        expect(document?.text).toBe('return-label.pdf\nButtons: Open file');
    });

    it('refuses a carousel image or a LINK that is not an http(s) URL', async () => {
        const badImage = {
            text: '',
            type: 'CAROUSEL',
            data: { items: [{ thumbnail: { image: 'javascript:x' } }] }
        };
        const badLink = {
            text: 'x',
            type: 'BUTTON',
            data: { items: [{ actionable_text: 'Open', uri: 'LINK', payload: { url: '' } }] }
        };

        for (const hsl of [badImage, badLink]) {
            const error = await rejection(client.sendMessage({ userId: 'u-b', hsl, metadata: { message_id: 'b' } }));
            expect(isBridgeError(error)).toBe(true);
        }
        expect(emulator.messagesTo('u-b')).toEqual([]);
    });

    it('serves files on its asset host without authentication', async () => {
        const url = emulator.addAsset('parcel.jpg', 'image/jpeg', Buffer.alloc(200_000, 3));

        const response = await fetch(url);

        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe('image/jpeg');
        expect((await response.arrayBuffer()).byteLength).toBe(200_000);
        expect(emulator.assetDownloads('parcel.jpg')).toBe(1);
        expect((await fetch(`${emulator.url}/assets/missing.jpg`)).status).toBe(404);
    });
});
