import { BridgeError } from '../../bridge/src/core/errors';
import { getInboundEvent } from '../../bridge/src/store/inbox';
import { tractEvent, tractMessage, webhookMessage } from '../emulators/haptik/haptik-sender';
import { startSandbox } from '../emulators/sandbox';
import type { Sandbox } from '../emulators/sandbox';
import { captureLogger } from '../support/test-clock-and-log';
import { createHaptikSender } from '../emulators/haptik/haptik-sender';
import { startTestBridge, TEST_SECRET } from './harness';

/**
 * Characters PostgreSQL cannot store (NUL, lone surrogates) and ids too long for an index: text is
 * cleaned and kept, ids are refused with a 400 at the schema, and nothing of the payload is logged.
 */
const EMAIL = 'leak.check@example.com';

let sandbox: Sandbox;
let log: ReturnType<typeof captureLogger>;

beforeAll(async () => {
    log = captureLogger();
    sandbox = await startSandbox({ logger: log.logger });
});

afterAll(async () => {
    await sandbox.stop();
});

async function inboundCount(): Promise<number> {
    const result = await sandbox.bridge.db.query<{ n: number }>('SELECT count(*)::int AS n FROM inbound_events');
    return Number(result.rows[0]?.n);
}

function errorOf(body: unknown): { code: string; message: string } {
    return (body as { error: { code: string; message: string } }).error;
}

describe('text with NUL or lone surrogates', () => {
    it('is kept with the NUL dropped and a lone surrogate turned into U+FFFD', async () => {
        const payload = webhookMessage({
            messageId: 9001,
            userName: `Asha\u0000Rao ${EMAIL}`,
            text: 'half \ud83d here'
        });
        (payload.user as Record<string, unknown>).os_version = 'x\udc00y';

        const result = await sandbox.send.webhook(payload);

        expect(result.status).toBe(200);
        const stored = await getInboundEvent(sandbox.bridge.db, 'haptik.webhook', 'webhook:message:9001');
        const user = (stored?.payload as { user: Record<string, unknown> }).user;
        expect(user.user_name).toBe(`AshaRao ${EMAIL}`);
        expect(user.os_version).toBe('x\ufffdy');
        expect(JSON.stringify(stored?.payload)).toContain('half \ufffd here');
    });

    it('in an object key of a detail map is cleaned the same way', async () => {
        const payload = webhookMessage({ messageId: 9002 });
        payload.data = { user_details: { 'bad\u0000key': 'v', 'lone\ud800': 'w' } };

        const result = await sandbox.send.webhook(payload);

        expect(result.status).toBe(200);
        const stored = await getInboundEvent(sandbox.bridge.db, 'haptik.webhook', 'webhook:message:9002');
        expect((stored?.payload as { data: unknown }).data).toEqual({
            conversation_details: {},
            user_details: { badkey: 'v', 'lone\ufffd': 'w' }
        });
    });
});

describe('ids that cannot be stored or indexed', () => {
    it.each([
        ['a NUL in user.user_id', 'user.user_id', () => webhookMessage({ userId: `u-1\u00002` })],
        ['a lone surrogate in message.id', 'message.id', () => ({ ...webhookMessage(), message: { id: 'm\ud800' } })],
        ['a control character in user.user_id', 'user.user_id', () => webhookMessage({ userId: 'u-\u0007' })],
        ['a 3,000-character user.user_id', 'user.user_id', () => webhookMessage({ userId: 'u'.repeat(3000) })],
        ['a 3,000-character event_name', 'event_name', () => webhookMessage({ eventName: 'e'.repeat(3000) })]
    ])('answers 400 on the webhook for %s, storing nothing', async (_name, field, payload) => {
        const before = await inboundCount();

        const result = await sandbox.send.webhook(payload());

        expect(result.status).toBe(400);
        expect(errorOf(result.body).code).toBe('bridge_http_invalid_body');
        expect(errorOf(result.body).message).toContain(field);
        expect(await inboundCount()).toBe(before);
    });

    it.each([
        ['user_id', () => tractEvent({ userId: 'u'.repeat(3000) })],
        ['category', () => tractEvent({ userId: 'u-1', category: 'c'.repeat(3000) })],
        ['subcategory', () => tractEvent({ userId: 'u-1', subcategory: 's\u0000' })]
    ])('answers 400 on the TRACT event hook for a bad %s', async (field, payload) => {
        const result = await sandbox.send.tractEvent(payload());

        expect(result.status).toBe(400);
        expect(errorOf(result.body)).toMatchObject({ code: 'bridge_http_invalid_body' });
        expect(errorOf(result.body).message).toContain(field);
    });

    it('answers 400 on the TRACT message hook for a 3,000-character message_id', async () => {
        const payload = { ...tractMessage({ userId: 'u-1', text: 'hi', messageId: 1 }), message_id: '9'.repeat(3000) };

        const result = await sandbox.send.tractMessage(payload);

        expect(result.status).toBe(400);
        expect(errorOf(result.body).message).toContain('message_id is too long');
    });

    it('takes ids of 100 characters', async () => {
        const result = await sandbox.send.webhook(webhookMessage({ userId: 'u'.repeat(100), messageId: 9003 }));
        expect(result.status).toBe(200);
    });

    it('logged no payload and no 500', () => {
        const all = JSON.stringify(log.lines());
        expect(all).not.toContain(EMAIL);
        expect(all).not.toContain('u'.repeat(100));
        expect(log.lines().filter((line) => line.status === 500)).toEqual([]);
    });
});

describe('errors from outside the bridge in the log', () => {
    it('log their code and message only, never their params, query or cause', async () => {
        const foreign = Object.assign(new Error('insert failed: unsupported Unicode escape sequence'), {
            code: '22P05',
            params: ['webhook:message:1', `{"email":"${EMAIL}"}`],
            query: 'INSERT INTO inbound_events ...',
            cause: new Error(`value ${EMAIL} rejected`)
        });
        const wrapped = new BridgeError('bridge_store_failed', 'Storing the event failed', { cause: foreign });
        const bridge = await startTestBridge({
            haptik: {
                webhook: () => Promise.reject(foreign),
                tractMessage: () => Promise.reject(wrapped)
            }
        });
        try {
            const haptik = createHaptikSender(bridge.url, { secret: TEST_SECRET });
            expect((await haptik.webhook(webhookMessage())).status).toBe(500);
            expect((await haptik.tractMessage(tractMessage({ userId: 'u', text: 't', messageId: 1 }))).status).toBe(
                500
            );

            const failures = bridge.logLines().filter((line) => String(line.msg).startsWith('request failed'));
            expect(failures).toHaveLength(2);
            expect(failures[0]).toMatchObject({
                error: { code: '22P05', message: 'insert failed: unsupported Unicode escape sequence' }
            });
            expect(failures[1]).toMatchObject({
                error: {
                    code: 'bridge_store_failed',
                    message: 'Storing the event failed',
                    cause: { code: '22P05', message: 'insert failed: unsupported Unicode escape sequence' }
                }
            });
            const all = JSON.stringify(bridge.logLines());
            expect(all).not.toContain(EMAIL);
            expect(all).not.toContain('INSERT INTO');
        } finally {
            await bridge.close();
        }
    });
});
