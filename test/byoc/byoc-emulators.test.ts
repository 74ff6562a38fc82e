/**
 * The BYOC emulators as a client sees them: the Interaction Service API's headers, multipart body, codes and
 * answers, and the Pub/Sub API read with the real salesforce-pubsub-api-client over TLS (Avro, replay ids,
 * numRequested flow control).
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import PubSubApiClient from 'salesforce-pubsub-api-client';
import { startSalesforceEmulator } from '../emulators/salesforce';
import type { SalesforceEmulator } from '../emulators/salesforce';
import { SANDBOX_BYOC, startByocEmulators } from '../emulators/byoc';
import type { ByocEmulators } from '../emulators/byoc';
import { eventually } from '../support/eventually';
import { createInteractionClient } from '../../bridge/src/salesforce/byoc/interaction-client';
import type { AttachmentUpload } from '../../bridge/src/salesforce/byoc/interaction-client';
import { silentLogger } from '../../bridge/src/observability/logger';

const ORG = '00DHp00000EmuLAT0R';
let salesforce: SalesforceEmulator;
let byoc: ByocEmulators;

async function token(): Promise<{ accessToken: string; instanceUrl: string }> {
    const res = await fetch(`${salesforce.url}/services/oauth2/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'cid', client_secret: 'secret' })
    });
    const body = (await res.json()) as { access_token: string; instance_url: string };
    return { accessToken: body.access_token, instanceUrl: body.instance_url };
}

function headers(accessToken: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
        Authorization: `Bearer ${accessToken}`,
        OrgId: ORG.slice(0, 15),
        AuthorizationContext: SANDBOX_BYOC.channelDefinition,
        RequestId: randomUUID(),
        ...extra
    };
}

function interaction(from: string, text: string, id = randomUUID()): FormData {
    const form = new FormData();
    form.append(
        'json',
        new Blob(
            [
                JSON.stringify({
                    to: SANDBOX_BYOC.channelAddress,
                    from,
                    routingAttributes: { Haptik_Conversation: `343:${from}:1` },
                    interactions: [
                        {
                            timestamp: Date.now(),
                            interactionType: 'EntryInteraction',
                            payload: {
                                id,
                                entryType: 'Message',
                                abstractMessage: {
                                    messageType: 'StaticContentMessage',
                                    id,
                                    staticContent: { formatType: 'Text', text }
                                }
                            }
                        }
                    ]
                })
            ],
            { type: 'application/json' }
        )
    );
    return form;
}

beforeAll(async () => {
    salesforce = await startSalesforceEmulator({
        clientId: 'cid',
        clientSecret: 'secret',
        orgId: ORG,
        tokenScope: 'api interaction_api'
    });
    byoc = await startByocEmulators({ orgId: ORG, salesforce, keepAliveMs: 200 });
});

afterAll(async () => {
    await byoc.close();
    await salesforce.close();
});

describe('Interaction Service API emulator', () => {
    it('takes a multipart interaction and answers 202 with the conversation identifier', async () => {
        const { accessToken } = await token();
        const res = await fetch(`${byoc.interactions.url}/api/v1/interactions`, {
            method: 'POST',
            headers: headers(accessToken),
            body: interaction('user-a', 'hello')
        });
        expect(res.status).toBe(202);
        const body = (await res.json()) as { conversationIdentifier: string; success: boolean; workItemIds: string[] };
        expect(body.success).toBe(true);
        expect(body.workItemIds).toHaveLength(1);
        expect(byoc.interactions.messagesFrom(body.conversationIdentifier).map((m) => m.text)).toEqual(['hello']);
        expect(salesforce.records('MessagingSession')).toHaveLength(1);
    });

    it('answers the documented error codes', async () => {
        const { accessToken } = await token();
        const post = async (h: Record<string, string>, body: FormData | string = interaction('user-b', 'x')) => {
            const res = await fetch(`${byoc.interactions.url}/api/v1/interactions`, {
                method: 'POST',
                headers: h,
                body
            });
            return { status: res.status, body: (await res.json()) as { code: number; message: string } };
        };
        expect(await post({ ...headers(accessToken), RequestId: 'not-a-uuid' })).toMatchObject({
            status: 400,
            body: { code: 10016 }
        });
        expect(await post(headers('00D!forged'))).toMatchObject({ status: 401, body: { code: 10004 } });
        expect(await post({ ...headers(accessToken), AuthorizationContext: 'Other' })).toMatchObject({
            status: 403,
            body: { code: 10005 }
        });
        const id = randomUUID();
        expect((await post(headers(accessToken), interaction('user-b', 'once', id))).status).toBe(202);
        expect(await post(headers(accessToken), interaction('user-b', 'again', id))).toMatchObject({
            status: 400,
            body: { code: 10073 }
        });
        const history = await fetch(`${byoc.interactions.url}/api/v1/conversationHistory`, {
            method: 'POST',
            headers: { ...headers(accessToken), 'Content-Type': 'application/json' },
            body: JSON.stringify({ channelAddressIdentifier: SANDBOX_BYOC.channelAddress })
        });
        expect(history.status).toBe(403);
        expect(((await history.json()) as { code: number }).code).toBe(10057);
    });

    it('takes an AttachmentInteraction with its one attachments part, and answers the documented file codes', async () => {
        const { accessToken } = await token();
        // As the README's curl sends it: `-F json=…;type=application/json -F attachments=@file`.
        const attachment = (
            file: { data: Buffer; type: string; name: string } | undefined,
            fields: Record<string, unknown>,
            from = 'user-files'
        ): FormData => {
            const form = new FormData();
            const json = {
                to: SANDBOX_BYOC.channelAddress,
                from,
                interactions: [{ timestamp: Date.now(), interactionType: 'AttachmentInteraction', ...fields }]
            };
            form.append('json', new Blob([JSON.stringify(json)], { type: 'application/json' }));
            if (file) form.append('attachments', new Blob([file.data], { type: file.type }), file.name);
            return form;
        };
        const post = async (form: FormData) => {
            const res = await fetch(`${byoc.interactions.url}/api/v1/interactions`, {
                method: 'POST',
                headers: headers(accessToken),
                body: form
            });
            return { status: res.status, body: (await res.json()) as Record<string, unknown> };
        };
        const photo = { data: Buffer.alloc(1000, 3), type: 'image/jpeg', name: 'photo.jpg' };
        const id = randomUUID();
        const taken = await post(
            attachment(photo, { id, attachmentIndex: 0, contentLength: 1000, text: 'This is my file' })
        );
        expect(taken).toMatchObject({ status: 202, body: { success: true } });
        const conversation = String(taken.body['conversationIdentifier']);
        expect(byoc.interactions.filesFrom(conversation)).toEqual([
            expect.objectContaining({
                id,
                name: 'photo.jpg',
                contentType: 'image/jpeg',
                size: 1000,
                text: 'This is my file'
            })
        ]);
        const codeOf = async (form: FormData) => (await post(form)).body['code'];
        expect(await codeOf(attachment(photo, { id, attachmentIndex: 0, contentLength: 1000 }))).toBe(10073);
        const fresh = () => randomUUID();
        expect(await codeOf(attachment(undefined, { id: fresh(), attachmentIndex: 0, contentLength: 1000 }))).toBe(
            10011
        );
        expect(await codeOf(attachment(photo, { id: fresh(), attachmentIndex: 0 }))).toBe(10010);
        expect(await codeOf(attachment(photo, { attachmentIndex: 0, contentLength: 1000 }))).toBe(10007);
        expect(await codeOf(attachment(photo, { id: fresh(), attachmentIndex: 0, contentLength: 999 }))).toBe(10051);
        const csv = { data: Buffer.from('a,b\n'), type: 'text/csv', name: 'list.csv' };
        expect(await codeOf(attachment(csv, { id: fresh(), attachmentIndex: 0, contentLength: csv.data.length }))).toBe(
            10095
        );
        const empty = { data: Buffer.alloc(0), type: 'image/png', name: 'empty.png' };
        expect(await codeOf(attachment(empty, { id: fresh(), attachmentIndex: 0, contentLength: 0 }))).toBe(10009);
        expect(byoc.interactions.filesFrom(conversation)).toHaveLength(1);
    });

    it('refuses a token without the interaction_api scope (10003)', async () => {
        const other = await startSalesforceEmulator({ clientId: 'cid', clientSecret: 'secret', orgId: ORG });
        const plain = await startByocEmulators({ orgId: ORG, salesforce: other });
        try {
            const res = await fetch(`${other.url}/services/oauth2/token`, {
                method: 'POST',
                body: new URLSearchParams({
                    grant_type: 'client_credentials',
                    client_id: 'cid',
                    client_secret: 'secret'
                })
            });
            const { access_token } = (await res.json()) as { access_token: string };
            const answer = await fetch(`${plain.interactions.url}/api/v1/interactions`, {
                method: 'POST',
                headers: headers(access_token),
                body: interaction('user-c', 'hi')
            });
            expect(answer.status).toBe(403);
            expect(((await answer.json()) as { code: number }).code).toBe(10003);
        } finally {
            await plain.close();
            await other.close();
        }
    });
});

describe("the bridge's Interaction Service client with files, against the emulator", () => {
    const client = () =>
        createInteractionClient({
            scrtUrl: byoc.interactions.url,
            orgId: ORG,
            channelAddress: SANDBOX_BYOC.channelAddress,
            channelDefinition: SANDBOX_BYOC.channelDefinition,
            auth: {
                token: async () => ({ ...(await token()), scopes: ['interaction_api'] }),
                invalidate: () => undefined
            },
            logger: silentLogger()
        });
    /** The bytes in 1000-byte pieces, as a network delivers them. */
    const pieces = (data: Buffer): Readable =>
        Readable.from(
            Array.from({ length: Math.ceil(data.length / 1000) }, (_, i) => data.subarray(i * 1000, (i + 1) * 1000))
        );
    const photo = Buffer.alloc(3000, 1);
    const upload = (fields: Partial<AttachmentUpload> = {}): AttachmentUpload => ({
        id: randomUUID(),
        fileName: 'photo.jpg',
        contentType: 'image/jpeg',
        contentLength: photo.length,
        body: pieces(photo),
        at: Date.now(),
        ...fields
    });

    it('streams a file, and maps a repeat (10073), a refused type (10095) and a wrong size to final errors', async () => {
        const c = client();
        const first = upload({ text: 'the meter' });
        await c.sendAttachment('user-client', first);
        await expect(c.sendAttachment('user-client', { ...first, body: pieces(photo) })).rejects.toMatchObject({
            code: 'bridge_chat_rejected',
            details: { code: 10073, retryable: false }
        });
        await expect(
            c.sendAttachment('user-client', upload({ fileName: 'list.csv', contentType: 'text/csv' }))
        ).rejects.toMatchObject({ code: 'bridge_chat_file_type_refused', details: { code: 10095, retryable: false } });
        // The source gave fewer bytes than it announced: the upload is cut off, Salesforce never gets a short file.
        await expect(
            c.sendAttachment('user-client', upload({ contentLength: photo.length + 1 }))
        ).rejects.toMatchObject({ code: 'bridge_files_length_mismatch' });
        const conversation = byoc.interactions.conversations().find((v) => v.endUserId === 'user-client');
        const files = byoc.interactions.filesFrom(conversation!.conversationId);
        expect(files).toEqual([expect.objectContaining({ id: first.id, size: photo.length, text: 'the meter' })]);
    });

    it("opens an agent's link without a token, with the token only when asked, and a page in its place as gone", async () => {
        const c = client();
        const { accessToken } = await token();
        const res = await fetch(`${byoc.interactions.url}/api/v1/interactions`, {
            method: 'POST',
            headers: headers(accessToken),
            body: interaction('user-links', 'hello')
        });
        const { conversationIdentifier } = (await res.json()) as { conversationIdentifier: string };
        byoc.interactions.accept(conversationIdentifier, 'Ada');
        const pdf = Buffer.alloc(5000, 9);
        const sent = byoc.interactions.agentAttachment(conversationIdentifier, {
            name: 'form.pdf',
            mimeType: 'application/pdf',
            data: pdf
        });
        const read = async (file: { body: AsyncIterable<Uint8Array> }): Promise<Buffer> => {
            const chunks: Buffer[] = [];
            for await (const chunk of file.body) chunks.push(Buffer.from(chunk));
            return Buffer.concat(chunks);
        };
        const open = await c.openAttachment(sent.url, 'application/pdf');
        expect(open.contentType).toBe('application/pdf');
        expect((await read(open)).equals(pdf)).toBe(true);
        byoc.interactions.setAttachmentAuth('bearer');
        try {
            expect((await read(await c.openAttachment(sent.url, 'application/pdf'))).equals(pdf)).toBe(true);
        } finally {
            byoc.interactions.setAttachmentAuth('public');
        }
        const version = new URL(sent.url).searchParams.get('ids');
        expect(
            byoc.interactions.attachmentDownloads
                .filter((d) => d.versionId === version)
                .map((d) => [d.withToken, d.status])
        ).toEqual([
            [false, 200],
            [false, 401],
            [true, 200]
        ]);
        await expect(c.openAttachment('https://files.example.com/form.pdf', 'application/pdf')).rejects.toMatchObject({
            code: 'bridge_files_host_refused'
        });
        byoc.interactions.expireAttachmentLinks();
        await expect(c.openAttachment(sent.url, 'application/pdf')).rejects.toMatchObject({
            code: 'bridge_files_gone',
            details: { httpStatus: 410 }
        });
    });
});

describe('Pub/Sub API emulator with the real client', () => {
    it('streams the agent side as Avro platform events, from a replay id, within numRequested', async () => {
        const { accessToken, instanceUrl } = await token();
        const res = await fetch(`${byoc.interactions.url}/api/v1/interactions`, {
            method: 'POST',
            headers: headers(accessToken),
            body: interaction('user-d', 'need help')
        });
        const { conversationIdentifier } = (await res.json()) as { conversationIdentifier: string };
        const before = byoc.pubsub.events(SANDBOX_BYOC.topicName).at(-1)?.replayId ?? 0;
        byoc.interactions.accept(conversationIdentifier, 'Ada');
        for (let i = 0; i < 5; i++) byoc.interactions.agentMessage(conversationIdentifier, `reply ${i}`);

        const client = new PubSubApiClient(
            {
                authType: 'user-supplied',
                accessToken,
                // The client takes only https instance URLs; the emulated org is http on loopback.
                instanceUrl: instanceUrl.replace(/^http:/, 'https:'),
                organizationId: ORG,
                pubSubEndpoint: byoc.pubsub.url.replace('https://', ''),
                rejectUnauthorizedSsl: false
            },
            { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined }
        );
        await client.connect();
        const received: Array<{ replayId: number; payload: Record<string, unknown> }> = [];
        const maxBatch = byoc.pubsub.stats.maxBatch;
        client.subscribeFromReplayId(
            SANDBOX_BYOC.topicName,
            (_info, type, data) => {
                if (type === 'event') received.push(data as { replayId: number; payload: Record<string, unknown> });
            },
            3,
            before
        );
        await eventually(() => received.length >= 3 || undefined);
        // Only 3 were asked for: the rest waits until the client asks again.
        expect(received).toHaveLength(3);
        client.requestAdditionalEvents(SANDBOX_BYOC.topicName, 10);
        await eventually(() => received.length >= 7 || undefined);
        // No client.close(): in 5.5.2 it drops the stream's listeners without cancelling the call, and the
        // emulator's shutdown would then raise an unhandled 'error' (why the bridge has its own pubsub-stream.ts).
        expect(byoc.pubsub.stats.maxBatch).toBeGreaterThanOrEqual(maxBatch);
        expect(received[0]!.replayId).toBe(before + 1);
        const messages = received
            .map((e) => JSON.parse(String(e.payload[SANDBOX_BYOC.payloadField])) as Record<string, unknown>)
            .filter((p) => p['entryType'] === 'Message')
            .map(
                (p) =>
                    (p['entryPayload'] as { abstractMessage: { staticContent: { text: string } } }).abstractMessage
                        .staticContent.text
            );
        expect(messages).toEqual(['reply 0', 'reply 1', 'reply 2', 'reply 3', 'reply 4']);
        expect(received.every((e) => e.payload[SANDBOX_BYOC.eventTypeField] === 'Interaction')).toBe(true);
    });
});
