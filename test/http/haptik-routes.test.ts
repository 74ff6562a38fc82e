import { BridgeError } from '../../bridge/src/core/errors';
import type { HaptikRouteRequest } from '../../bridge/src/http/app';
import { signHaptikBody } from '../../bridge/src/http/signature';
import {
    createHaptikSender,
    integrationRequest,
    sendToBridge,
    tractEvent,
    tractMessage,
    webhookConversationComplete,
    webhookMessage
} from '../emulators/haptik/haptik-sender';
import type { HaptikSender } from '../emulators/haptik/haptik-sender';
import { startTestBridge, TEST_SECRET } from './harness';
import type { TestBridge } from './harness';

describe('Haptik routes', () => {
    let bridge: TestBridge;
    let haptik: HaptikSender;
    const received: HaptikRouteRequest[] = [];

    beforeAll(async () => {
        bridge = await startTestBridge({
            haptik: {
                webhook: (request) => {
                    received.push(request);
                    return Promise.resolve({ status: 200, body: { received: request.payload.event_name } });
                },
                tractMessage: (request) => {
                    received.push(request);
                    return Promise.resolve({ status: 200 });
                },
                caseEvent: (request) => {
                    received.push(request);
                    return Promise.resolve({
                        status: 200,
                        body: {
                            status: true,
                            response: ['Case created'],
                            conversation_details: {},
                            user_details: { template: request.params.template }
                        }
                    });
                },
                customer: () => Promise.reject(new Error('connection to postgres://bridge:hunter2@db failed')),
                handover: () =>
                    Promise.reject(
                        new BridgeError('bridge_salesforce_unavailable', 'Salesforce is not reachable right now')
                    )
                // tractEvent: deliberately not registered
            }
        });
        haptik = createHaptikSender(bridge.url, { secret: TEST_SECRET });
    });

    afterAll(async () => {
        await bridge.close();
    });

    beforeEach(() => {
        received.length = 0;
    });

    describe('signatures', () => {
        it('accepts a body signed with HMAC-SHA1 in X-Hub-Signature', async () => {
            const result = await haptik.webhook(webhookMessage({ messageId: 77 }));

            expect(result.status).toBe(200);
            expect(result.body).toEqual({ received: 'message' });
            expect(received).toHaveLength(1);
            expect(received[0]!.eventId).toBe('webhook:message:77');
        });

        it('accepts a body signed with HMAC-SHA256 in X-Hub-Signature-256', async () => {
            const result = await haptik.webhook(webhookMessage(), { algorithm: 'sha256' });

            expect(result.status).toBe(200);
            expect(received).toHaveLength(1);
        });

        it.each([
            ['missing', null],
            ['wrong', 'sha1=0000000000000000000000000000000000000000'],
            ['truncated', 'sha1=abc123'],
            ['not hex', `sha1=${'z'.repeat(40)}`],
            ['without algorithm prefix', 'e'.repeat(40)]
        ])('rejects a %s signature with 401', async (_label, signature) => {
            const result = await haptik.webhook(webhookMessage(), { signature });

            expect(result.status).toBe(401);
            expect(result.body).toEqual({
                error: { code: 'bridge_http_bad_signature', message: expect.any(String) as unknown }
            });
            expect(received).toHaveLength(0);
        });

        it('rejects a body signed with another secret', async () => {
            const result = await haptik.webhook(webhookMessage(), { secret: 'some-other-secret' });

            expect(result.status).toBe(401);
            expect(received).toHaveLength(0);
        });

        it('rejects a signature of a different body (tampered payload)', async () => {
            const signed = JSON.stringify(webhookMessage({ text: 'original' }));
            const result = await sendToBridge(
                bridge.url,
                '/haptik/webhook',
                JSON.stringify(webhookMessage({ text: 'changed' })),
                {
                    secret: TEST_SECRET,
                    signature: signHaptikBody(TEST_SECRET, signed)
                }
            );

            expect(result.status).toBe(401);
        });

        it('checks the signature before answering 404 on an unknown /haptik path', async () => {
            const unsigned = await haptik.send('/haptik/unknown', { a: 1 }, { signature: null });
            const signed = await haptik.send('/haptik/unknown', { a: 1 });

            expect(unsigned.status).toBe(401);
            expect(signed.status).toBe(404);
            expect(signed.body).toEqual({ error: { code: 'bridge_http_not_found', message: 'No such route' } });
        });
    });

    describe('bodies', () => {
        it('answers 400 bridge_http_invalid_json to a malformed body', async () => {
            const result = await haptik.webhook('{"event_name": "message",');

            expect(result.status).toBe(400);
            expect(result.body).toEqual({
                error: { code: 'bridge_http_invalid_json', message: 'The request body is not valid JSON' }
            });
        });

        it('answers 400 bridge_http_invalid_body naming the bad fields but not their values', async () => {
            const payload = tractMessage({ userId: 'u-1', text: 'secret-ish text', messageId: 5 });
            delete payload.message_id;
            payload.user_id = { nested: 'value-that-must-not-echo' };

            const result = await haptik.tractMessage(payload);

            expect(result.status).toBe(400);
            const error = (result.body as { error: { code: string; message: string } }).error;
            expect(error.code).toBe('bridge_http_invalid_body');
            expect(error.message).toContain('message_id is required');
            expect(error.message).toContain('user_id has the wrong type');
            expect(error.message).not.toContain('value-that-must-not-echo');
            expect(received).toHaveLength(0);
        });

        it('requires the conversation keys on webhook_conversation_complete', async () => {
            const payload = webhookConversationComplete();
            delete (payload.data as Record<string, unknown>).conversation_no;

            const result = await haptik.webhook(payload);

            expect(result.status).toBe(400);
            expect((result.body as { error: { message: string } }).error.message).toContain('data.conversation_no');
        });

        it.each([65, 10_000, 100_000])(
            'answers 400 bridge_http_invalid_body to a body nested %i levels deep, before the handler',
            async (depth) => {
                // The detail map is level 2, so the array inside it starts at level 3.
                const payload = { ...integrationRequest({ userId: 'u-deep' }), user_details: { deep: 'DEEP' } };
                const raw = JSON.stringify(payload).replace('"DEEP"', '['.repeat(depth - 2) + ']'.repeat(depth - 2));

                const result = await haptik.caseEvent('service_request', raw);

                expect(result.status).toBe(400);
                expect(result.body).toEqual({
                    error: {
                        code: 'bridge_http_invalid_body',
                        message: 'The request body nests deeper than 64 levels'
                    }
                });
                expect(received).toHaveLength(0);
            }
        );

        it('takes a body nested 64 levels deep', async () => {
            const deep = JSON.parse('['.repeat(62) + ']'.repeat(62)) as unknown;
            const payload = { ...integrationRequest({ userId: 'u-deep' }), user_details: { deep } };

            const result = await haptik.caseEvent('service_request', payload);

            expect(result.status).toBe(200);
            expect(received).toHaveLength(1);
        });

        it('answers 413 bridge_http_body_too_large to a body over 1 MiB', async () => {
            const payload = { ...webhookMessage(), padding: 'x'.repeat(1024 * 1024) };

            const result = await haptik.webhook(payload);

            expect(result.status).toBe(413);
            expect((result.body as { error: { code: string } }).error.code).toBe('bridge_http_body_too_large');
        });

        it('passes the typed payload, the event id and route params to the handler', async () => {
            const result = await haptik.caseEvent(
                'service_request',
                integrationRequest({
                    userId: 'u-9',
                    conversationNo: 4,
                    node: 'create_case',
                    entities: { order_id: 'A-1' }
                })
            );

            expect(result.status).toBe(200);
            expect(result.body).toEqual({
                status: true,
                response: ['Case created'],
                conversation_details: {},
                user_details: { template: 'service_request' }
            });
            const request = received[0] as HaptikRouteRequest<'caseEvent'>;
            expect(request.route).toBe('caseEvent');
            expect(request.params).toEqual({ template: 'service_request' });
            expect(request.eventId).toBe('integration:caseEvent:u-9:4:create_case');
            expect(request.payload.entities.order_id?.[0]?.entity_value).toBe('A-1');
        });

        it('answers a handler reply without a body with the status only', async () => {
            const result = await haptik.tractMessage(tractMessage({ userId: 'u-1', text: 'hi', messageId: 9 }));

            expect(result.status).toBe(200);
            expect(result.body).toBe('');
            expect((received[0] as HaptikRouteRequest<'tractMessage'>).payload.message_id).toBe('9');
        });
    });

    describe('routing and errors', () => {
        it('answers 404 bridge_http_not_found to an unknown route outside /haptik', async () => {
            const response = await fetch(`${bridge.url}/nowhere`);

            expect(response.status).toBe(404);
            expect(await response.json()).toEqual({
                error: { code: 'bridge_http_not_found', message: 'No such route' }
            });
        });

        it('answers 501 bridge_http_not_enabled, naming the feature, for a contract route without a handler', async () => {
            const result = await haptik.tractEvent(tractEvent({ userId: 'u-1' }));

            expect(result.status).toBe(501);
            const error = (result.body as { error: { code: string; message: string } }).error;
            expect(error.code).toBe('bridge_http_not_enabled');
            expect(error.message).toContain('TRACT events');
        });

        it('answers 500 bridge_http_internal to a handler that throws, without stack or internals', async () => {
            const result = await haptik.customer(integrationRequest());

            expect(result.status).toBe(500);
            expect(result.body).toEqual({
                error: { code: 'bridge_http_internal', message: 'The bridge failed to handle the request' }
            });
            expect(JSON.stringify(result.body)).not.toMatch(/hunter2|postgres|at .*\.ts/);
        });

        it('keeps the code of a thrown BridgeError that maps to a status', async () => {
            const result = await haptik.handover(integrationRequest());

            expect(result.status).toBe(503);
            expect(result.body).toEqual({
                error: { code: 'bridge_salesforce_unavailable', message: 'Salesforce is not reachable right now' }
            });
        });

        it('rejects a case template name with odd characters', async () => {
            const result = await haptik.caseEvent('bad.name', integrationRequest());

            expect(result.status).toBe(400);
            expect(received).toHaveLength(0);
        });
    });

    describe('logging', () => {
        it('logs method, route pattern, status and duration, never bodies or signatures', async () => {
            await haptik.caseEvent('lead', integrationRequest({ fullName: 'Unique Person Name' }));

            const lines = bridge.logLines().filter((line) => line.msg === 'http request');
            const caseLine = lines.findLast((line) => line.route === '/haptik/integrations/case/:template');
            expect(caseLine).toMatchObject({ method: 'POST', status: 200 });
            expect(typeof caseLine?.durationMs).toBe('number');
            const all = JSON.stringify(bridge.logLines());
            expect(all).not.toContain('Unique Person Name');
            expect(all).not.toContain('sha1=');
            expect(all).not.toContain(TEST_SECRET);
        });
    });
});

describe('Haptik routes: the hook key (TRACT hooks carry no signature)', () => {
    const HOOK_TOKEN = 'test-hook-token-5c2e9a1f7d3b4e60';
    const received: HaptikRouteRequest[] = [];
    let bridge: TestBridge;

    async function start(overrides: { webhookSecret?: string | undefined }): Promise<TestBridge> {
        return startTestBridge({
            hookToken: HOOK_TOKEN,
            ...overrides,
            haptik: {
                tractMessage: (request) => {
                    received.push(request);
                    return Promise.resolve({ status: 200, body: { status: 'accepted' } });
                },
                webhook: () => Promise.reject(new Error('handler failed')),
                customer: () => Promise.resolve({ status: 200, body: { status: true } })
            }
        });
    }

    beforeAll(async () => {
        bridge = await start({});
    });

    afterAll(() => bridge.close());

    beforeEach(() => {
        received.length = 0;
    });

    const hook = (query: string, payload: unknown = tractMessage({ userId: 'u-1', text: 'hi', messageId: 1 })) =>
        sendToBridge(bridge.url, `/haptik/tract/message${query}`, payload, { auth: 'none' });

    it('accepts an unsigned TRACT hook whose URL carries the key', async () => {
        const result = await hook(`?key=${HOOK_TOKEN}`);

        expect(result.status).toBe(200);
        expect(received).toHaveLength(1);
    });

    it.each([
        ['no key', ''],
        ['a wrong key', `?key=${HOOK_TOKEN.slice(0, -1)}x`],
        ['a longer key', `?key=${HOOK_TOKEN}0`],
        ['an empty key', '?key='],
        ['the key twice', `?key=${HOOK_TOKEN}&key=${HOOK_TOKEN}`],
        ['the key under another name', `?token=${HOOK_TOKEN}`]
    ])('answers 401 to %s', async (_label, query) => {
        const result = await hook(query);

        expect(result.status).toBe(401);
        expect(result.body).toEqual({
            error: {
                code: 'bridge_http_bad_signature',
                message: expect.stringContaining('?key=<HAPTIK_HOOK_TOKEN>') as unknown
            }
        });
        expect(received).toHaveLength(0);
    });

    it('accepts the key or a signature on every /haptik/ route', async () => {
        const signed = await sendToBridge(bridge.url, '/haptik/integrations/customer', integrationRequest(), {
            secret: TEST_SECRET
        });
        const keyed = await sendToBridge(bridge.url, '/haptik/integrations/customer', integrationRequest(), {
            hookToken: HOOK_TOKEN
        });

        expect(signed.status).toBe(200);
        expect(keyed.status).toBe(200);
    });

    it('reads `step` (newer Haptik docs) as `node` when `node` is absent', async () => {
        const { node: _dropped, ...request } = integrationRequest({ userId: 'u-step' });
        let seen: unknown;
        const stepBridge = await startTestBridge({
            hookToken: HOOK_TOKEN,
            haptik: {
                customer: (r) => {
                    seen = { node: r.payload.node, eventId: r.eventId };
                    return Promise.resolve({ status: 200, body: {} });
                }
            }
        });
        try {
            const result = await sendToBridge(
                stepBridge.url,
                '/haptik/integrations/customer',
                { ...request, step: 'lookup_step' },
                { hookToken: HOOK_TOKEN }
            );
            expect(result.status).toBe(200);
            expect(seen).toEqual({ node: 'lookup_step', eventId: 'integration:customer:u-step:1:lookup_step' });
        } finally {
            await stepBridge.close();
        }
    });

    it('with the hook token alone, a signature authenticates nothing', async () => {
        const keyOnly = await start({ webhookSecret: undefined });
        try {
            const signed = await sendToBridge(
                keyOnly.url,
                '/haptik/tract/message',
                tractMessage({ userId: 'u', text: 'x', messageId: 2 }),
                {
                    secret: TEST_SECRET
                }
            );
            const keyed = await sendToBridge(
                keyOnly.url,
                '/haptik/tract/message',
                tractMessage({ userId: 'u', text: 'x', messageId: 2 }),
                {
                    hookToken: HOOK_TOKEN
                }
            );

            expect(signed.status).toBe(401);
            expect(keyed.status).toBe(200);
        } finally {
            await keyOnly.close();
        }
    });

    it('never writes the key into a log line or a metric label, whatever the answer', async () => {
        const key = `?key=${HOOK_TOKEN}`;
        const answers = [
            (await hook(key)).status,
            (await hook(`${key}&x=1`, '{"user_id":')).status,
            (await hook(key, { user_id: 'u' })).status,
            (await sendToBridge(bridge.url, `/haptik/unknown${key}`, {}, { auth: 'none' })).status,
            (await sendToBridge(bridge.url, `/haptik/webhook${key}`, webhookMessage(), { auth: 'none' })).status,
            (await sendToBridge(bridge.url, `/nowhere${key}`, {}, { auth: 'none' })).status
        ];
        const metrics = await (await fetch(`${bridge.url}/metrics`)).text();

        expect(answers).toEqual([200, 400, 400, 404, 500, 404]);
        const logged = JSON.stringify(bridge.logLines());
        expect(logged).toContain('http request');
        expect(logged).not.toContain(HOOK_TOKEN);
        expect(metrics).toContain('bridge_http_request_duration_seconds');
        expect(metrics).not.toContain(HOOK_TOKEN);
    });
});
