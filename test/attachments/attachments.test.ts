import { randomBytes } from 'node:crypto';
import { tractEvent } from '../emulators/haptik';
import { eventually } from '../support/eventually';
import {
    requestAgent,
    sendUserText,
    startHandoverSandbox,
    userTextsAtAgent,
    waitForState,
    waitForText
} from '../handover/harness';
import type { HandoverSandbox } from '../handover/harness';
import type { EnhancedChatEmulator } from '../emulators/enhanced-chat/enhanced-chat-emulator';
import { photoMessage, SENT_AS_LINK, sha256 } from './attachment-helpers';

/**
 * Attachments both ways (issue 18), end to end over the emulators: a user's photo or document reaches the
 * agent as a file in the Enhanced Chat conversation (or as a link with a note where it cannot: too large,
 * uploads off, a host or address the allow-list refuses, Legacy Chat), in order with the chat's texts; an
 * agent's file reaches the user as an image or a named link, a signed link the bridge serves itself, which
 * stops working when it expires and never works when tampered with.
 */

const PUBLIC_URL = 'https://bridge.example.test';

/** Reads a signed link through the bridge (the link names BRIDGE_PUBLIC_URL; the test reaches the bridge directly). */
async function openLink(sandbox: HandoverSandbox, link: string): Promise<Response> {
    const url = new URL(link);
    expect(url.origin).toBe(PUBLIC_URL);
    return fetch(`${sandbox.bridge.url}${url.pathname}`);
}

/** Completes the user's conversation (TRACT `collection_state`/`complete`) and reads its transcript Case. */
async function transcriptOf(sandbox: HandoverSandbox, userId: string): Promise<string> {
    const reply = await sandbox.send.tractEvent(tractEvent({ userId, subcategory: 'complete' }));
    expect(reply.status).toBe(200);
    const record = await eventually(() =>
        sandbox.salesforce
            .records('Case')
            .find((c) => c['Haptik_Conversation_Key__c'] === `343:${userId}:1` && c['Haptik_Transcript__c'])
    );
    return String(record['Haptik_Transcript__c']);
}

describe('attachments both ways (Enhanced Chat)', () => {
    let sandbox: HandoverSandbox;
    let offsetMs = 0;

    beforeAll(async () => {
        sandbox = await startHandoverSandbox({
            env: {
                BRIDGE_PUBLIC_URL: PUBLIC_URL,
                // The Haptik emulator's asset host by IP address (listed exactly), and by a name that resolves to
                // a loopback address (always refused).
                BRIDGE_FILE_HOSTS: '127.0.0.1,localhost',
                BRIDGE_FILE_MAX_BYTES: String(1024 * 1024),
                BRIDGE_FILE_LINK_TTL_MINUTES: '5'
            },
            clock: { now: () => new Date(Date.now() + offsetMs) }
        });
    });

    afterAll(async () => {
        await sandbox.stop();
    });

    const chat = (): EnhancedChatEmulator => sandbox.chat as unknown as EnhancedChatEmulator;

    async function withAgent(userId: string): Promise<{ handoverId: string; conversationId: string }> {
        const started = await requestAgent(sandbox, { userId });
        sandbox.chat.accept(started.conversationId, 'Priya');
        await waitForText(sandbox, userId, 'You are now chatting with Priya.');
        await waitForState(sandbox, started.handoverId, 'with_agent');
        return started;
    }

    it("a user's photo between two texts reaches the agent as a file, between them, once", async () => {
        const userId = 'u-photo';
        const { conversationId } = await withAgent(userId);
        const photo = randomBytes(300 * 1024);
        const url = sandbox.haptik.addAsset('parcel.jpg', 'image/jpeg', photo);

        expect((await sendUserText(sandbox, userId, 301, 'The parcel arrived broken')).status).toBe(200);
        expect((await sandbox.send.tractMessage(photoMessage(userId, 302, url, 'parcel.jpg'))).status).toBe(200);
        expect((await sendUserText(sandbox, userId, 303, 'Can you help?')).status).toBe(200);
        // Haptik delivers the photo's webhook again: nothing new is sent.
        expect((await sandbox.send.tractMessage(photoMessage(userId, 302, url, 'parcel.jpg'))).body).toEqual({
            status: 'duplicate'
        });

        const file = await eventually(() => chat().filesFrom(conversationId)[0]);
        expect(file).toMatchObject({ name: 'parcel.jpg', contentType: 'image/jpeg', size: photo.length });
        expect(file.sha256).toBe(sha256(photo));
        await eventually(() => (userTextsAtAgent(sandbox, conversationId).length === 2 ? true : undefined));
        expect(userTextsAtAgent(sandbox, conversationId)).toEqual(['The parcel arrived broken', 'Can you help?']);
        // The order the chat API received them in: text, file, text.
        const calls = chat()
            .requests.filter((r) => r.status === 202 && r.path.includes(`/conversation/${conversationId}/`))
            .map((r) => r.path.split('/').pop());
        expect(calls.filter((p) => p === 'message' || p === 'file').slice(-3)).toEqual(['message', 'file', 'message']);
        expect(chat().filesFrom(conversationId)).toHaveLength(1);
        expect(sandbox.haptik.assetDownloads('parcel.jpg')).toBe(1);

        // The transcript Case lists the file under the user's message, with its time, its type and size as the
        // download told them; files are not put on the Case unless BRIDGE_TRANSCRIPT_FILES=link.
        expect(String(await transcriptOf(sandbox, userId))).toMatch(
            /\[[0-9-]+ [0-9:]+ UTC\] [^:\n]+: \[user file\] parcel\.jpg \(image\/jpeg, 300 KB\)(\n|$)/
        );
        const stored = await sandbox.bridge.db.query<{ size_bytes: string; content_type: string }>(
            `SELECT size_bytes, content_type FROM handover_files WHERE name = 'parcel.jpg'`
        );
        expect(stored.rows.map((r) => [Number(r.size_bytes), r.content_type])).toEqual([[photo.length, 'image/jpeg']]);
        expect(sandbox.salesforce.records('ContentVersion')).toEqual([]);
    });

    it('an upload whose answer is lost is sent again under the same message id: the agent has the file once', async () => {
        const userId = 'u-lost-answer';
        const { conversationId } = await withAgent(userId);
        const photo = randomBytes(64 * 1024);
        const url = sandbox.haptik.addAsset('meter.jpg', 'image/jpeg', photo);
        // Salesforce takes the file, then the connection drops before its answer: the bridge cannot know it arrived.
        chat().failNext(1, { on: 'file', dropResponse: true });
        await sandbox.send.tractMessage(photoMessage(userId, 331, url, 'meter.jpg'));
        await sendUserText(sandbox, userId, 332, 'after the photo');
        await eventually(() =>
            userTextsAtAgent(sandbox, conversationId).includes('after the photo') ? true : undefined
        );
        // The retry downloaded and uploaded again; the chat kept one file, and no link went instead.
        expect(sandbox.haptik.assetDownloads('meter.jpg')).toBe(2);
        expect(chat().filesFrom(conversationId)).toHaveLength(1);
        expect(chat().filesFrom(conversationId)[0]!.sha256).toBe(sha256(photo));
        expect(userTextsAtAgent(sandbox, conversationId)).toEqual(['after the photo']);
    });

    it('a file over the size limit, or with uploads off, reaches the agent as a link and a note; the user is told', async () => {
        const userId = 'u-big';
        const { conversationId } = await withAgent(userId);
        const big = sandbox.haptik.addAsset('scan.pdf', 'application/pdf', randomBytes(1536 * 1024));
        await sandbox.send.tractMessage(
            photoMessage(userId, 311, big, 'scan.pdf') // a card with a document URL: still a file
        );
        const note = await eventually(() =>
            userTextsAtAgent(sandbox, conversationId).find((t) => t.includes('could not be attached'))
        );
        expect(note).toBe(
            `The user sent a file that could not be attached (it is larger than the upload limit): scan.pdf\n${big}`
        );
        await waitForText(sandbox, userId, SENT_AS_LINK('scan.pdf'));
        expect(chat().filesFrom(conversationId)).toEqual([]);

        chat().setUploads(false);
        try {
            const small = sandbox.haptik.addAsset('receipt.png', 'image/png', randomBytes(2048));
            await sandbox.send.tractMessage(photoMessage(userId, 312, small, 'receipt.png'));
            const off = await eventually(() =>
                userTextsAtAgent(sandbox, conversationId).find((t) => t.includes('receipt.png'))
            );
            expect(off).toBe(
                `The user sent a file that could not be attached (uploads are turned off for this chat): receipt.png\n${small}`
            );
            await waitForText(sandbox, userId, SENT_AS_LINK('receipt.png'));
        } finally {
            chat().setUploads(true);
        }
        expect(chat().filesFrom(conversationId)).toEqual([]);
    });

    it('the allow-list: a file on another host, or on a name that resolves to a private address, is never fetched', async () => {
        const userId = 'u-ssrf';
        const { conversationId } = await withAgent(userId);
        sandbox.haptik.addAsset('secret.png', 'image/png', randomBytes(1024));
        const port = new URL(sandbox.haptik.url).port;
        const otherHost = `http://127.0.0.2:${port}/assets/secret.png`;
        // https: a host named (not an IP address) must be; its address is checked before any TLS.
        const privateName = `https://localhost:${port}/assets/secret.png`;
        await sandbox.send.tractMessage(photoMessage(userId, 321, otherHost, 'other.png'));
        await sandbox.send.tractMessage(photoMessage(userId, 322, privateName, 'private.png'));
        await eventually(() => (userTextsAtAgent(sandbox, conversationId).length === 2 ? true : undefined));
        expect(userTextsAtAgent(sandbox, conversationId)).toEqual([
            `The user sent a file that could not be attached (it is not on an allowed file host): other.png\n${otherHost}`,
            `The user sent a file that could not be attached (it is not on an allowed file host): private.png\n${privateName}`
        ]);
        expect(sandbox.haptik.assetDownloads('secret.png')).toBe(0);
        expect(chat().filesFrom(conversationId)).toEqual([]);
    });

    it("an agent's image and document reach the user through signed links that expire and cannot be forged", async () => {
        const userId = 'u-agent-files';
        const { conversationId } = await withAgent(userId);
        const label = randomBytes(40 * 1024);
        const picture = randomBytes(20 * 1024);
        sandbox.chat.agentMessage(conversationId, 'Here is your return label');
        chat().agentAttachment(
            conversationId,
            { name: 'label.pdf', mimeType: 'application/pdf', data: label },
            'Print this'
        );
        chat().agentAttachment(conversationId, { name: 'how-to-pack.png', mimeType: 'image/png', data: picture });
        sandbox.chat.agentMessage(conversationId, 'Anything else?');

        await waitForText(sandbox, userId, 'Anything else?');
        const messages = sandbox.haptik.messagesTo(userId);
        const from = messages.findIndex((m) => m.text === 'Here is your return label');
        const relayed = messages.slice(from);
        expect(relayed.map((m) => (m.hsl as { type: string }).type)).toEqual([
            'TEXT',
            'TEXT',
            'BUTTON',
            'CAROUSEL',
            'TEXT'
        ]);
        expect(relayed[1]!.text).toBe('Print this');
        const doc = relayed[2]!.hsl as { text: string; data: { items: Array<{ payload: { url: string } }> } };
        expect(doc.text).toBe('label.pdf');
        const image = relayed[3]!.hsl as {
            data: { items: Array<{ title: string; thumbnail: { image: string } }> };
        };
        expect(image.data.items[0]!.title).toBe('how-to-pack.png');

        const docLink = doc.data.items[0]!.payload.url;
        const docResponse = await openLink(sandbox, docLink);
        expect(docResponse.status).toBe(200);
        expect(docResponse.headers.get('content-type')).toContain('application/pdf');
        expect(Buffer.from(await docResponse.arrayBuffer()).equals(label)).toBe(true);
        const imageResponse = await openLink(sandbox, image.data.items[0]!.thumbnail.image);
        expect(imageResponse.status).toBe(200);
        expect(imageResponse.headers.get('content-type')).toContain('image/png');
        expect(sha256(Buffer.from(await imageResponse.arrayBuffer()))).toBe(sha256(picture));

        // A changed token is not a link (404), whichever character changed.
        const token = new URL(docLink).pathname.split('/').pop()!;
        const flipped = `${token.slice(0, -3)}${token.at(-3) === 'A' ? 'B' : 'A'}${token.slice(-2)}`;
        expect((await fetch(`${sandbox.bridge.url}/files/${flipped}`)).status).toBe(404);

        // After the link's time (5 minutes on the bridge's clock) it is gone (410).
        offsetMs = 6 * 60_000;
        try {
            expect((await openLink(sandbox, docLink)).status).toBe(410);
        } finally {
            offsetMs = 0;
        }
        // The conversation's transcript lists the files, and who sent them.
        const logged = (
            await sandbox.bridge.db.query<{ text: string }>(
                `SELECT text FROM message_log WHERE handover_id IS NOT NULL AND sender = 'agent' ORDER BY id`
            )
        ).rows.map((r) => r.text);
        expect(logged).toEqual(
            expect.arrayContaining([
                'Print this\n[agent file] label.pdf (application/pdf)',
                '[agent file] how-to-pack.png (image/png)'
            ])
        );
        // With the sizes the bridge learnt streaming them to the user.
        const transcript = await transcriptOf(sandbox, userId);
        expect(transcript).toContain('Priya: Print this\n    [agent file] label.pdf (application/pdf, 40 KB)');
        expect(transcript).toContain('Priya: [agent file] how-to-pack.png (image/png, 20 KB)');
        expect(sandbox.salesforce.records('ContentVersion')).toEqual([]);
    });
});

describe('attachments on Legacy Chat (no visitor upload)', () => {
    let sandbox: HandoverSandbox;

    beforeAll(async () => {
        sandbox = await startHandoverSandbox({ chatApi: 'legacy', env: { BRIDGE_FILE_HOSTS: '127.0.0.1' } });
    });

    afterAll(async () => {
        await sandbox.stop();
    });

    it("a user's photo reaches the agent as a link, in order with the texts, and the user is told", async () => {
        const userId = 'u-legacy-photo';
        const started = await requestAgent(sandbox, { userId });
        // Live Agent takes visitor messages only once an agent accepted: a photo sent before waits with the texts.
        const early = sandbox.haptik.addAsset('box.jpg', 'image/jpeg', randomBytes(4096));
        await sandbox.send.tractMessage(photoMessage(userId, 400, early, 'box.jpg'));
        sandbox.chat.accept(started.conversationId, 'Priya');
        await waitForText(sandbox, userId, 'You are now chatting with Priya.');
        await waitForState(sandbox, started.handoverId, 'with_agent');
        const url = sandbox.haptik.addAsset('dent.jpg', 'image/jpeg', randomBytes(4096));
        await sendUserText(sandbox, userId, 401, 'Look at this');
        await sandbox.send.tractMessage(photoMessage(userId, 402, url, 'dent.jpg'));
        await sendUserText(sandbox, userId, 403, 'Thanks');
        await eventually(() => (userTextsAtAgent(sandbox, started.conversationId).length === 4 ? true : undefined));
        expect(userTextsAtAgent(sandbox, started.conversationId)).toEqual([
            `The user sent a file that could not be attached (this chat does not take files): box.jpg\n${early}`,
            'Look at this',
            `The user sent a file that could not be attached (this chat does not take files): dent.jpg\n${url}`,
            'Thanks'
        ]);
        await waitForText(sandbox, userId, SENT_AS_LINK('box.jpg'));
        await waitForText(sandbox, userId, SENT_AS_LINK('dent.jpg'));
        // Nothing was downloaded: the link is all the agent needs.
        expect(sandbox.haptik.assetDownloads('dent.jpg') + sandbox.haptik.assetDownloads('box.jpg')).toBe(0);
    });
});
