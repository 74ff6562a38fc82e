import { randomBytes } from 'node:crypto';
import type { Db } from '../../bridge/src/store/db';
import type { BridgeProcessOptions } from '../../scripts/bridge-process';
import { createHaptikSender, integrationRequest, tractMessage } from '../emulators/haptik';
import type { HaptikSender } from '../emulators/haptik';
import { SANDBOX_CREDENTIALS, sandboxEnv, startEmulators } from '../emulators/sandbox';
import type { Emulators } from '../emulators/sandbox';
import { compileBridgeProcess, startBridgeProcess } from '../support/bridge-process-runner';
import type { BridgeProcess } from '../support/bridge-process-runner';
import { dropSchema, openBarePostgres, uniqueSchemaName } from '../support/databases';
import { eventually } from '../support/eventually';
import { FAST_CHAT, FAST_OUTBOX, expectDuplicatesOnlyFromLostSends, handoverMapping } from '../handover/harness';
import { deliveriesTo, openLink, photoMessage, sha256, userTimeline } from '../attachments/attachment-helpers';

/**
 * Attachments with several bridge instances on one PostgreSQL (issue 18): three processes behind "a load
 * balancer" (this test sends each request to whichever instance it likes). A photo a user sends between two
 * texts reaches the agent once and between them, whichever instance takes each webhook (the chat's jobs run
 * in the instance reading its stream); an agent's file between two texts reaches the user once and between
 * them, through a signed link any instance serves. Then the instance reading a chat dies with SIGKILL while it
 * uploads a photo (Salesforce took it, the answer never came) and while the agent's file waits behind a send in
 * flight: another instance takes the chat over, the agent has the photo once, the user the file once.
 */
jest.setTimeout(240_000);

const INSTANCES = 3;
const CHATS = 3;
const PUBLIC_URL = 'https://bridge.example.test';
// The local PostgreSQL of this machine kind (and CI); several processes cannot share an embedded database.
const databaseUrl = process.env['TEST_DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/test';

interface Chat {
    userId: string;
    handoverId: string;
    conversationId: string;
}

describe('attachments with three bridge instances on one PostgreSQL (enhanced)', () => {
    const schema = uniqueSchemaName();
    let emulators: Emulators | undefined;
    let db: Db | undefined;
    const instances: Array<BridgeProcess | undefined> = [];
    let senders: HaptikSender[] = [];
    let options: BridgeProcessOptions;

    beforeAll(async () => {
        const entry = await compileBridgeProcess();
        emulators = await startEmulators();
        const { salesforce, haptik, chat } = emulators;
        options = {
            env: {
                ...sandboxEnv(salesforce.url, haptik.url),
                SF_SCRT_URL: chat.url,
                BRIDGE_PUBLIC_URL: PUBLIC_URL,
                BRIDGE_FILE_HOSTS: '127.0.0.1',
                DATABASE_URL: databaseUrl
            },
            mapping: handoverMapping(),
            databaseSchema: schema,
            outbox: FAST_OUTBOX,
            chatTuning: FAST_CHAT,
            streams: { leaseMs: 2000, tickMs: 200 }
        };
        // One at a time: the first one migrates the schema (the others would wait on its lock anyway).
        for (let i = 0; i < INSTANCES; i += 1) {
            instances.push(
                await startBridgeProcess(entry, {
                    ...options,
                    streams: { ...options.streams, instanceId: `bridge-${i}` }
                })
            );
        }
        senders = instances.map((p) =>
            createHaptikSender(
                p!.url,
                { secret: SANDBOX_CREDENTIALS.webhookSecret, hookToken: SANDBOX_CREDENTIALS.hookToken },
                emulators!.haptik
            )
        );
        db = await openBarePostgres(databaseUrl, schema);
    });

    afterAll(async () => {
        await Promise.all(instances.map((p) => (p === undefined ? Promise.resolve() : p.kill('SIGKILL'))));
        await db?.close();
        await emulators?.close();
        await dropSchema(databaseUrl, schema);
    });

    /** The live instances' indexes. */
    const live = (): number[] => instances.flatMap((p, i) => (p === undefined ? [] : [i]));

    /** The index of the instance reading a handover's chat stream. */
    async function streamOwner(handoverId: string): Promise<number> {
        const rows = await db!.query<{ owner: string | null }>(
            'SELECT stream_owner AS owner FROM handover_sessions WHERE id = $1',
            [handoverId]
        );
        const owner = rows.rows[0]?.owner ?? '';
        expect(owner).toMatch(/^bridge-\d$/);
        return Number(owner.replace('bridge-', ''));
    }

    async function openChat(userId: string, via: number): Promise<Chat> {
        const { chat, haptik } = emulators!;
        const reply = await senders[via]!.handover(
            integrationRequest({ userId, userName: `${userId}_name`, node: 'talk_to_agent' })
        );
        expect(reply.status).toBe(200);
        const handoverId = (reply.body as { conversation_details: { handover_id: string } }).conversation_details
            .handover_id;
        // The conversation's id is the handover's (a UUID).
        const conversationId = await eventually(
            () => chat.conversations().find((x) => x.conversationId === handoverId.toLowerCase())?.conversationId,
            30_000
        );
        chat.accept(conversationId, 'Priya');
        await eventually(
            () =>
                haptik.messagesTo(userId).some((m) => m.text === 'You are now chatting with Priya.') ? true : undefined,
            30_000
        );
        return { userId, handoverId, conversationId };
    }

    /** What the user got from the agent (texts and files), each message once in order, notices left out. */
    function fromAgent(userId: string): string[] {
        return deliveriesTo(emulators!.haptik, userId)
            .map((d) => d.what)
            .filter((what) => what.startsWith('agent: ') || what.startsWith('image '));
    }

    function uploads(conversationId: string): number[] {
        return emulators!.chat.requests
            .filter((r) => r.method === 'POST' && r.path.endsWith(`/conversation/${conversationId}/file`))
            .map((r) => r.status);
    }

    it('a photo between two texts, from the user and from the agent, arrives once and in order whichever instance takes each webhook', async () => {
        const { chat, haptik } = emulators!;
        const chats: Chat[] = [];
        for (let i = 0; i < CHATS; i += 1) chats.push(await openChat(`files-multi-${i}`, i % INSTANCES));
        const photos = chats.map(() => randomBytes(128 * 1024));
        const labels = chats.map(() => randomBytes(24 * 1024));
        // Which instance took each photo's webhook, against which one reads the chat's stream.
        let photosElsewhere = 0;

        for (const [i, c] of chats.entries()) {
            const url = haptik.addAsset(`photo-${i}.jpg`, 'image/jpeg', photos[i]!);
            const owner = await streamOwner(c.handoverId);
            // Three consecutive messages of the user, each through the next instance.
            const via = (n: number): number => (i + n) % INSTANCES;
            const replies = [
                await senders[via(0)]!.tractMessage(
                    tractMessage({ userId: c.userId, messageId: 21, text: 'user: before' })
                ),
                await senders[via(1)]!.tractMessage(photoMessage(c.userId, 22, url, `photo-${i}.jpg`)),
                await senders[via(2)]!.tractMessage(
                    tractMessage({ userId: c.userId, messageId: 23, text: 'user: after' })
                )
            ];
            expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
            if (via(1) !== owner) photosElsewhere += 1;

            chat.agentMessage(c.conversationId, 'agent: before');
            chat.agentAttachment(c.conversationId, { name: `label-${i}.png`, mimeType: 'image/png', data: labels[i]! });
            chat.agentMessage(c.conversationId, 'agent: after');
        }
        expect(photosElsewhere).toBeGreaterThan(0);

        await eventually(
            () =>
                chats.every(
                    (c) =>
                        userTimeline(chat, c.conversationId).includes('user: after') &&
                        fromAgent(c.userId).includes('agent: after')
                )
                    ? true
                    : undefined,
            60_000
        );
        for (const [i, c] of chats.entries()) {
            expect(userTimeline(chat, c.conversationId)).toEqual([
                'user: before',
                `file photo-${i}.jpg`,
                'user: after'
            ]);
            const files = chat.filesFrom(c.conversationId);
            expect(files).toHaveLength(1);
            expect(files[0]!.sha256).toBe(sha256(photos[i]!));
            expect(uploads(c.conversationId)).toEqual([202]);
            expect(haptik.assetDownloads(`photo-${i}.jpg`)).toBe(1);

            expect(fromAgent(c.userId)).toEqual(['agent: before', `image label-${i}.png`, 'agent: after']);
            expectDuplicatesOnlyFromLostSends(haptik, c.userId);
            // The link is served by every instance, whichever issued it.
            const link = deliveriesTo(haptik, c.userId).find((d) => d.what === `image label-${i}.png`)!.link!;
            for (const index of live()) {
                const opened = await openLink(instances[index]!.url, link);
                expect(opened.status).toBe(200);
                expect(sha256(opened.body)).toBe(sha256(labels[i]!));
            }
        }
    });

    it('the instance reading a chat dies mid-upload and with the agent’s file queued: another takes over, each file arrives once, in order', async () => {
        const { chat, haptik } = emulators!;
        const c = await openChat('files-crash', 0);
        const owner = await streamOwner(c.handoverId);
        const others = live().filter((i) => i !== owner);
        const photo = randomBytes(256 * 1024);
        const label = randomBytes(32 * 1024);
        const url = haptik.addAsset('crash.jpg', 'image/jpeg', photo);

        // The user's photo: the instance reading the chat uploads it; Salesforce takes it and never answers.
        await senders[others[0]!]!.tractMessage(
            tractMessage({ userId: c.userId, messageId: 31, text: 'user: before' })
        );
        await eventually(() => (userTimeline(chat, c.conversationId).includes('user: before') ? true : undefined));
        const stalledBefore = chat.stats.stalledUploads;
        chat.failNext(1, { on: 'file', stall: 'answer' });
        expect((await senders[others[1]!]!.tractMessage(photoMessage(c.userId, 32, url, 'crash.jpg'))).status).toBe(
            200
        );
        await eventually(() => (chat.stats.stalledUploads > stalledBefore ? true : undefined), 20_000);
        expect(
            (
                await senders[others[0]!]!.tractMessage(
                    tractMessage({ userId: c.userId, messageId: 33, text: 'user: after' })
                )
            ).status
        ).toBe(200);

        // The agent's file: Haptik takes the text before it and never answers, the file and the text after wait.
        haptik.holdSendAnswers();
        chat.agentMessage(c.conversationId, 'agent: before');
        chat.agentAttachment(c.conversationId, { name: 'crash-label.png', mimeType: 'image/png', data: label });
        chat.agentMessage(c.conversationId, 'agent: after');
        await eventually(async () => {
            const rows = await db!.query<{ kind: string; state: string }>(
                `SELECT kind, state FROM outbox_jobs WHERE kind IN ('haptik.message', 'haptik.send_file')
                   AND (payload ->> 'handoverId' = $1 OR payload ->> 'userId' = $2) ORDER BY id`,
                [c.handoverId, c.userId]
            );
            const states = rows.rows.map((r) => `${r.kind} ${r.state}`).slice(-3);
            return states.join(', ') === 'haptik.message running, haptik.send_file pending, haptik.message pending'
                ? true
                : undefined;
        }, 20_000);
        await instances[owner]!.kill('SIGKILL');
        instances[owner] = undefined;
        await haptik.releaseSendAnswers();

        await eventually(
            () =>
                userTimeline(chat, c.conversationId).includes('user: after') &&
                fromAgent(c.userId).includes('agent: after')
                    ? true
                    : undefined,
            60_000
        );
        expect(await streamOwner(c.handoverId)).not.toBe(owner);
        // The agent has the photo once, between the texts: the survivor's upload under the same id was a repeat.
        expect(userTimeline(chat, c.conversationId)).toEqual(['user: before', 'file crash.jpg', 'user: after']);
        expect(chat.filesFrom(c.conversationId)).toHaveLength(1);
        expect(chat.filesFrom(c.conversationId)[0]!.sha256).toBe(sha256(photo));
        expect(uploads(c.conversationId)).toEqual([-1, 202]);
        // The user has the file once, between the texts; only the send in flight in the dead instance shows twice.
        expect(fromAgent(c.userId)).toEqual([
            'agent: before',
            'agent: before',
            'image crash-label.png',
            'agent: after'
        ]);
        expectDuplicatesOnlyFromLostSends(haptik, c.userId);
        const link = deliveriesTo(haptik, c.userId).find((d) => d.what === 'image crash-label.png')!.link!;
        for (const index of live()) {
            const opened = await openLink(instances[index]!.url, link);
            expect(opened.status).toBe(200);
            expect(sha256(opened.body)).toBe(sha256(label));
        }
    });
});
