/**
 * Files in Enhanced Chat (issue 18) over real sockets: a user's file fetched safely from a file host and streamed
 * into the conversation's `/file` route (202, 413, 415, uploads off), and an agent's attachment arriving as an
 * event whose URL needs the conversation's token and expires, served to the user through a signed link.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BridgeError } from '../../bridge/src/core/errors';
import type { ChatAttachment, ChatEvent, ChatSessionState } from '../../bridge/src/core/handover/chat-port';
import { createChatFileSource } from '../../bridge/src/files/chat-file-source';
import { createFileFetcher } from '../../bridge/src/files/file-fetcher';
import type { FileFetcher } from '../../bridge/src/files/file-fetcher';
import { createFileLinks, deriveLinkKey } from '../../bridge/src/files/file-links';
import { DEFAULT_FILE_TYPES, parseFileTypes } from '../../bridge/src/files/file-names';
import { parseHostRules } from '../../bridge/src/files/host-rules';
import { silentLogger } from '../../bridge/src/observability/logger';
import { serveOnLoopback } from '../emulators/loopback-server';
import type { LoopbackServer } from '../emulators/loopback-server';
import { startTestBridge } from '../http/harness';
import { openRequest, startHarness } from './harness';
import type { Harness } from './harness';

const photo = Buffer.alloc(300_000, 7);
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

async function failure(promise: Promise<unknown>): Promise<BridgeError> {
    try {
        await promise;
    } catch (error) {
        expect(error).toBeInstanceOf(BridgeError);
        return error as BridgeError;
    }
    throw new Error('expected a failure');
}

const attachmentClaims = (attachment: ChatAttachment) => ({
    handoverId: 'ho-files',
    attachmentId: attachment.id,
    url: attachment.url,
    name: attachment.name,
    contentType: attachment.contentType
});

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks);
}

describe('Enhanced Chat files', () => {
    let h: Harness;
    let assets: LoopbackServer;
    let fetcher: FileFetcher;
    let state: ChatSessionState;
    let conversationId: string;

    const files: Record<string, { type: string; data: Buffer; chunked?: boolean }> = {
        '/parcel.jpg': { type: 'image/jpeg', data: photo },
        '/big.pdf': { type: 'application/pdf', data: Buffer.alloc(2_000_000, 1) },
        '/list.csv': { type: 'text/csv', data: Buffer.from('a,b\n1,2\n') },
        '/huge-chunked.pdf': { type: 'application/pdf', data: Buffer.alloc(3_500_000, 2), chunked: true }
    };

    beforeAll(async () => {
        assets = await serveOnLoopback(
            (req: IncomingMessage, res: ServerResponse) => {
                const file = files[new URL(req.url ?? '/', 'http://x').pathname];
                if (file === undefined) {
                    res.writeHead(404).end();
                    return Promise.resolve();
                }
                res.writeHead(200, {
                    'content-type': file.type,
                    ...(file.chunked ? {} : { 'content-length': String(file.data.length) })
                });
                // Written in pieces, as a network would deliver it.
                for (let at = 0; at < file.data.length; at += 64 * 1024)
                    res.write(file.data.subarray(at, at + 64 * 1024));
                res.end();
                return Promise.resolve();
            },
            (res) => res.end()
        );
        fetcher = createFileFetcher({
            hosts: parseHostRules(`127.0.0.1:${assets.port}`).rules,
            maxBytes: 3_000_000,
            allowedTypes: parseFileTypes(DEFAULT_FILE_TYPES).types,
            deadlineMs: 10_000
        });
    });

    afterAll(async () => {
        await fetcher.close();
        await assets.close();
    });

    beforeEach(async () => {
        h = await startHarness({ files: { maxBytes: 1_000_000, attachmentUrlTtlMs: 60_000 } });
        state = await h.adapter.open(openRequest('ho-files'));
        conversationId = (state.data as { conversationId: string }).conversationId;
        h.emulator.accept(conversationId, 'Asha');
    });

    afterEach(async () => {
        await h.close();
    });

    const sendFetched = async (path: string, messageId: string, text?: string): Promise<void> => {
        const file = await fetcher.open(`${assets.url}${path}`);
        await h.adapter.sendFile?.('ho-files', state, {
            messageId,
            fileName: file.fileName,
            contentType: file.contentType,
            body: file.body,
            ...(text === undefined ? {} : { text })
        });
    };

    it('streams a user file from the file host into the conversation, once per message id', async () => {
        await sendFetched('/parcel.jpg', 'hm-photo', 'The box arrived like this');
        await sendFetched('/parcel.jpg', 'hm-photo', 'The box arrived like this');

        expect(h.emulator.filesFrom(conversationId)).toEqual([
            expect.objectContaining({
                name: 'parcel.jpg',
                contentType: 'image/jpeg',
                size: photo.length,
                sha256: sha256(photo),
                text: 'The box arrived like this'
            })
        ]);
        const upload = h.emulator.requests.filter((r) => r.path.endsWith('/file'));
        expect(upload.map((r) => r.status)).toEqual([202, 202]);
    });

    it('gets 413 for a file over the deployment limit and 415 for a type it does not allow: final, so a link goes instead', async () => {
        const large = await failure(sendFetched('/big.pdf', 'hm-big'));
        expect(large.code).toBe('bridge_chat_file_too_large');
        expect(large.details).toMatchObject({ status: 413, retryable: false });

        const csv = await failure(sendFetched('/list.csv', 'hm-csv'));
        expect(csv.code).toBe('bridge_chat_file_type_refused');
        expect(csv.details).toMatchObject({ status: 415, retryable: false });
        expect(h.emulator.filesFrom(conversationId)).toEqual([]);
    });

    it('is refused when the deployment does not allow uploads', async () => {
        h.emulator.setUploads(false);

        const refused = await failure(sendFetched('/parcel.jpg', 'hm-off'));

        expect(refused.code).toBe('bridge_chat_file_refused');
        expect(refused.details.retryable).toBe(false);
    });

    it('stops an upload whose source grows past the bridge limit on the way, with the fetcher error', async () => {
        const error = await failure(sendFetched('/huge-chunked.pdf', 'hm-huge'));

        expect(error.code).toBe('bridge_files_too_large');
        expect(h.emulator.filesFrom(conversationId)).toEqual([]);
    });

    it('delivers an agent attachment as an event; its URL needs the conversation token, and a signed link serves it', async () => {
        const label = Buffer.from('%PDF-1.7 return label');
        const sent = h.emulator.agentAttachment(conversationId, {
            name: 'return-label.pdf',
            mimeType: 'application/pdf',
            data: label
        });

        const envelope = await h.recorder.waitFor((e) => e.type === 'agent_attachment', 'ho-files');
        const event = envelope.event as Extract<ChatEvent, { type: 'agent_attachment' }>;
        expect(event).toEqual({
            type: 'agent_attachment',
            messageId: sent.messageId,
            agentName: 'Asha',
            attachments: [
                expect.objectContaining({
                    id: sent.attachmentId,
                    name: 'return-label.pdf',
                    contentType: 'application/pdf',
                    url: sent.url
                })
            ]
        });
        // Salesforce's SSE docs: the channel's record id, not the end user's subject.
        const streamed = h.emulator.events(conversationId);
        expect(streamed.every((e) => e.data.channelAddressIdentifier === h.emulator.channelId)).toBe(true);
        expect(h.emulator.channelId).toMatch(/^0Mj[0-9A-Za-z]{15}$/);

        expect((await fetch(sent.url)).status).toBe(401);
        const opened = await h.adapter.openAttachment?.('ho-files', state, event.attachments[0]!);
        expect(await readAll(opened!.body)).toEqual(label);

        // The route a user's link hits, with the adapter as the file source.
        let now = Date.now();
        const links = createFileLinks({
            publicUrl: 'https://bridge.example.com',
            key: deriveLinkKey('link-secret-for-the-files-test-0123456789'),
            ttlSeconds: 600,
            now: () => now
        });
        const bridge = await startTestBridge({
            files: {
                links,
                logger: silentLogger(),
                source: createChatFileSource({
                    adapter: h.adapter,
                    loadChatState: (handoverId) => Promise.resolve(handoverId === 'ho-files' ? state : undefined)
                })
            }
        });
        try {
            const attachment = event.attachments[0]!;
            const link = links.issue(attachmentClaims(attachment));
            const token = link.slice(link.lastIndexOf('/') + 1);
            const response = await fetch(`${bridge.url}/files/${token}`);
            expect(response.status).toBe(200);
            expect(Buffer.from(await response.arrayBuffer())).toEqual(label);

            const unknownChat = links.issue({ ...attachmentClaims(attachment), handoverId: 'ho-gone' });
            expect(
                (await fetch(`${bridge.url}/files/${unknownChat.slice(unknownChat.lastIndexOf('/') + 1)}`)).status
            ).toBe(410);

            now += 600_000;
            expect((await fetch(`${bridge.url}/files/${token}`)).status).toBe(410);
        } finally {
            await bridge.close();
        }
    });

    it('finds an expired attachment URL gone, and never sends the token to a host outside Salesforce', async () => {
        await h.close();
        h = await startHarness({ files: { attachmentUrlTtlMs: 1 } });
        state = await h.adapter.open(openRequest('ho-files'));
        conversationId = (state.data as { conversationId: string }).conversationId;
        h.emulator.accept(conversationId, 'Asha');
        const sent = h.emulator.agentAttachment(conversationId, {
            name: 'form.pdf',
            mimeType: 'application/pdf',
            data: Buffer.from('%PDF')
        });
        // The URL's life is 1 ms: let it pass.
        await new Promise((resolve) => setTimeout(resolve, 5));

        const gone = await failure(h.adapter.openAttachment!('ho-files', state, { url: sent.url }));
        expect(gone.code).toBe('bridge_files_gone');
        expect(gone.details).toMatchObject({ status: 403, httpStatus: 410 });

        const elsewhere = await failure(
            h.adapter.openAttachment!('ho-files', state, { url: `${assets.url}/parcel.jpg` })
        );
        expect(elsewhere.code).toBe('bridge_files_host_refused');
    });
});

describe('Enhanced Chat files served by an instance that does not read the chat', () => {
    let h: Harness | undefined;

    afterEach(async () => {
        await h?.close();
        h = undefined;
    });

    const continuations = (harness: Harness): number =>
        harness.emulator.requests.filter((r) => r.path.endsWith('/authorization/continuation-access-token')).length;

    it('serves the file with the stored token and keeps nothing behind: no token renewals of its own afterwards', async () => {
        // Tokens live 2 s here: a session kept by the serving adapter would renew within that.
        h = await startHarness({ tokenTtlMs: 2000 });
        const state = await h.adapter.open(openRequest('ho-elsewhere'));
        const conversation = (state.data as { conversationId: string }).conversationId;
        h.emulator.accept(conversation, 'Asha');
        const label = Buffer.from('%PDF-1.7 label served elsewhere');
        const sent = h.emulator.agentAttachment(conversation, {
            name: 'label.pdf',
            mimeType: 'application/pdf',
            data: label
        });
        await h.recorder.waitFor((e) => e.type === 'agent_attachment', 'ho-elsewhere');

        // Another instance (its own adapter, the chat's stored state) serves the user's link.
        const elsewhere = h.newAdapter();
        const opened = await elsewhere.adapter.openAttachment!('ho-elsewhere', state, { url: sent.url });
        expect(await readAll(opened.body)).toEqual(label);

        // The instance reading the chat stops; from here on a renewal could only be the serving instance's.
        await h.adapter.close();
        const before = continuations(h);
        await new Promise((resolve) => setTimeout(resolve, 3000));
        expect(continuations(h)).toBe(before);
    });
});
