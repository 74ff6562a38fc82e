/**
 * Attachments both ways on Bring Your Own Channel (issue 18 on BYOC), end to end over the emulators: a user's
 * photo reaches the agent as an `AttachmentInteraction` file, bytes intact and in order with the texts, once even
 * when an answer is lost; a file Salesforce refuses (too large: 10008) or whose type it does not document reaches
 * the agent as a link and a note; an agent's file arrives in the platform event with a Content Delivery link, and the user gets it as
 * an image or a named link the bridge serves itself, fetched without credentials unless the org asks for them,
 * and gone once Salesforce's link has expired.
 */
import { randomBytes } from 'node:crypto';
import type { InteractionServiceEmulator } from '../emulators/byoc';
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
import { photoMessage, SENT_AS_LINK, sha256 } from '../attachments/attachment-helpers';

const PUBLIC_URL = 'https://bridge.example.test';
/** The channel's limit in this org (Salesforce's is 25 MB): under the bridge's own 1 MiB, so Salesforce refuses. */
const CHANNEL_MAX_BYTES = 512 * 1024;

describe('attachments both ways (BYOC)', () => {
    let sandbox: HandoverSandbox;
    let agent: InteractionServiceEmulator;

    beforeAll(async () => {
        sandbox = await startHandoverSandbox({
            chatApi: 'byoc',
            env: {
                BRIDGE_PUBLIC_URL: PUBLIC_URL,
                BRIDGE_FILE_HOSTS: '127.0.0.1',
                BRIDGE_FILE_MAX_BYTES: String(1024 * 1024),
                BRIDGE_FILE_LINK_TTL_MINUTES: '5'
            },
            byoc: { keepAliveMs: 500, files: { maxBytes: CHANNEL_MAX_BYTES } }
        });
        agent = sandbox.byoc.interactions;
    });

    afterAll(async () => {
        await sandbox.stop();
    });

    async function withAgent(userId: string): Promise<{ handoverId: string; conversationId: string }> {
        const started = await requestAgent(sandbox, { userId });
        agent.accept(started.conversationId, 'Priya');
        await waitForText(sandbox, userId, 'You are now chatting with Priya.');
        await waitForState(sandbox, started.handoverId, 'with_agent');
        return started;
    }

    /** Reads a signed link through the bridge (the link names BRIDGE_PUBLIC_URL; the test reaches the bridge). */
    async function openLink(link: string): Promise<Response> {
        const url = new URL(link);
        expect(url.origin).toBe(PUBLIC_URL);
        return fetch(`${sandbox.bridge.url}${url.pathname}`);
    }

    it("a user's photo between two texts reaches the agent as a file, bytes intact, between them, once", async () => {
        const userId = 'u-byoc-photo';
        const { conversationId } = await withAgent(userId);
        const photo = randomBytes(300 * 1024);
        const url = sandbox.haptik.addAsset('parcel.jpg', 'image/jpeg', photo);

        expect((await sendUserText(sandbox, userId, 901, 'The parcel arrived broken')).status).toBe(200);
        expect((await sandbox.send.tractMessage(photoMessage(userId, 902, url, 'parcel.jpg'))).status).toBe(200);
        expect((await sendUserText(sandbox, userId, 903, 'Can you help?')).status).toBe(200);
        // Haptik delivers the photo's webhook again: nothing new is sent.
        expect((await sandbox.send.tractMessage(photoMessage(userId, 902, url, 'parcel.jpg'))).body).toEqual({
            status: 'duplicate'
        });

        await eventually(() => (userTextsAtAgent(sandbox, conversationId).length === 2 ? true : undefined));
        expect(userTextsAtAgent(sandbox, conversationId)).toEqual(['The parcel arrived broken', 'Can you help?']);
        const files = agent.filesFrom(conversationId);
        expect(files).toHaveLength(1);
        expect(files[0]).toMatchObject({ name: 'parcel.jpg', contentType: 'image/jpeg', size: photo.length });
        expect(files[0]!.sha256).toBe(sha256(photo));
        // The order Salesforce took them in: text, file, text (after the briefing that opened the session).
        expect(agent.entriesFrom(conversationId).map((e) => e.kind)).toEqual(['text', 'text', 'file', 'text']);
        expect(sandbox.haptik.assetDownloads('parcel.jpg')).toBe(1);
    });

    it('a file whose source gives no size is measured first; an upload whose answer is lost is taken once', async () => {
        const userId = 'u-byoc-lost';
        const { conversationId } = await withAgent(userId);
        const scan = randomBytes(200 * 1024 + 17);
        const url = sandbox.haptik.addAsset('meter.png', 'image/png', scan, { chunked: true });
        // Salesforce takes the file, then the connection drops before its answer: the bridge cannot know it arrived.
        agent.failNext(1, { on: 'attachment', dropResponse: true });
        await sandbox.send.tractMessage(photoMessage(userId, 911, url, 'meter.png'));
        await sendUserText(sandbox, userId, 912, 'after the photo');
        await eventually(() =>
            userTextsAtAgent(sandbox, conversationId).includes('after the photo') ? true : undefined
        );
        // The retry downloaded and sent it again under the same id (10073: taken before); no link went instead.
        expect(sandbox.haptik.assetDownloads('meter.png')).toBe(2);
        expect(agent.filesFrom(conversationId)).toHaveLength(1);
        expect(agent.filesFrom(conversationId)[0]).toMatchObject({ size: scan.length, sha256: sha256(scan) });
        expect(userTextsAtAgent(sandbox, conversationId)).toEqual(['after the photo']);
        const attachmentCalls = agent.requests.filter((r) => r.path === '/api/v1/interactions' && r.status !== 202);
        expect(attachmentCalls.map((r) => r.status)).toEqual(expect.arrayContaining([-1, 400]));
    });

    it('a file Salesforce refuses (too large, a type it does not take) reaches the agent as a link and a note', async () => {
        const userId = 'u-byoc-refused';
        const { conversationId } = await withAgent(userId);
        const big = sandbox.haptik.addAsset('scan.pdf', 'application/pdf', randomBytes(700 * 1024));
        await sandbox.send.tractMessage(photoMessage(userId, 921, big, 'scan.pdf'));
        const tooLarge = await eventually(() =>
            userTextsAtAgent(sandbox, conversationId).find((t) => t.includes('scan.pdf'))
        );
        expect(tooLarge).toBe(
            `The user sent a file that could not be attached (it is larger than the upload limit): scan.pdf\n${big}`
        );
        await waitForText(sandbox, userId, SENT_AS_LINK('scan.pdf'));

        // text/csv: the bridge may download it, but it is not a type BYOC documents, so it is not uploaded.
        const list = sandbox.haptik.addAsset('items.csv', 'text/csv', Buffer.from('item,qty\nmug,2\n'));
        await sandbox.send.tractMessage(photoMessage(userId, 922, list, 'items.csv'));
        const typeRefused = await eventually(() =>
            userTextsAtAgent(sandbox, conversationId).find((t) => t.includes('items.csv'))
        );
        expect(typeRefused).toBe(
            `The user sent a file that could not be attached (its file type is not accepted): items.csv\n${list}`
        );
        await waitForText(sandbox, userId, SENT_AS_LINK('items.csv'));
        expect(agent.filesFrom(conversationId)).toEqual([]);
    });

    it("an agent's PDF reaches the user as a named link and an image as an image, served through /files/{token}", async () => {
        const userId = 'u-byoc-agent-files';
        const { conversationId } = await withAgent(userId);
        const label = randomBytes(40 * 1024);
        const picture = randomBytes(20 * 1024);
        agent.agentMessage(conversationId, 'Here is your return label');
        const sentLabel = agent.agentAttachment(
            conversationId,
            { name: 'label.pdf', mimeType: 'application/pdf', data: label },
            'Print this'
        );
        const sentPicture = agent.agentAttachment(conversationId, {
            name: 'how-to-pack.png',
            mimeType: 'image/png',
            data: picture
        });
        agent.agentMessage(conversationId, 'Anything else?');

        await waitForText(sandbox, userId, 'Anything else?');
        const messages = sandbox.haptik.messagesTo(userId);
        const relayed = messages.slice(messages.findIndex((m) => m.text === 'Here is your return label'));
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
        const image = relayed[3]!.hsl as { data: { items: Array<{ title: string; thumbnail: { image: string } }> } };
        expect(image.data.items[0]!.title).toBe('how-to-pack.png');

        const docLink = doc.data.items[0]!.payload.url;
        const docResponse = await openLink(docLink);
        expect(docResponse.status).toBe(200);
        expect(docResponse.headers.get('content-type')).toContain('application/pdf');
        expect(docResponse.headers.get('content-disposition')).toContain('filename="label.pdf"');
        expect(Buffer.from(await docResponse.arrayBuffer()).equals(label)).toBe(true);
        const imageResponse = await openLink(image.data.items[0]!.thumbnail.image);
        expect(imageResponse.status).toBe(200);
        expect(imageResponse.headers.get('content-type')).toContain('image/png');
        expect(sha256(Buffer.from(await imageResponse.arrayBuffer()))).toBe(sha256(picture));

        // The Content Delivery link is public: no token went with it.
        const labelVersion = new URL(sentLabel.url).searchParams.get('ids');
        expect(agent.attachmentDownloads.filter((d) => d.versionId === labelVersion)).toEqual([
            { versionId: labelVersion, withToken: false, status: 200 }
        ]);
        // Both files were acknowledged as delivered, as agent texts are.
        const fileAcks = await eventually(() => {
            const acks = agent.conversations().find((c) => c.conversationId === conversationId)?.acknowledgements;
            const ofFiles = (acks ?? []).filter((a) =>
                [sentLabel.messageId, sentPicture.messageId].includes(a.entryId)
            );
            return ofFiles.length === 2 ? ofFiles : undefined;
        });
        expect(fileAcks.map((a) => a.type)).toEqual(['Delivered', 'Delivered']);

        // Once Salesforce's link has expired (it answers a page, not the file), the bridge's link is gone.
        agent.expireAttachmentLinks();
        expect((await openLink(docLink)).status).toBe(410);
    });

    it("an org whose links want credentials gets the channel's token, only after it asked", async () => {
        const userId = 'u-byoc-bearer';
        const { conversationId } = await withAgent(userId);
        agent.setAttachmentAuth('bearer');
        try {
            const invoice = randomBytes(10 * 1024);
            const sent = agent.agentAttachment(conversationId, {
                name: 'invoice.pdf',
                mimeType: 'application/pdf',
                data: invoice
            });
            const doc = await eventually(
                () =>
                    sandbox.haptik.messagesTo(userId).find((m) => (m.hsl as { text?: string }).text === 'invoice.pdf')
                        ?.hsl as { data: { items: Array<{ payload: { url: string } }> } } | undefined
            );
            const response = await openLink(doc.data.items[0]!.payload.url);
            expect(response.status).toBe(200);
            expect(Buffer.from(await response.arrayBuffer()).equals(invoice)).toBe(true);
            const version = new URL(sent.url).searchParams.get('ids');
            expect(
                agent.attachmentDownloads
                    .filter((d) => d.versionId === version)
                    .map((d) => ({ withToken: d.withToken, status: d.status }))
            ).toEqual([
                { withToken: false, status: 401 },
                { withToken: true, status: 200 }
            ]);
        } finally {
            agent.setAttachmentAuth('public');
        }
    });
});
