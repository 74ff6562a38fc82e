import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Db } from '../../bridge/src/store/db';
import { openPgliteDb } from '../../bridge/src/store/pglite-db';
import type { BridgeProcessOptions } from '../../scripts/bridge-process';
import { createHaptikSender, integrationRequest, tractMessage } from '../emulators/haptik';
import type { HaptikSender } from '../emulators/haptik';
import { SANDBOX_CREDENTIALS, sandboxEnv, startEmulators } from '../emulators/sandbox';
import type { Emulators } from '../emulators/sandbox';
import { compileBridgeProcess, startBridgeProcess } from '../support/bridge-process-runner';
import type { BridgeProcess } from '../support/bridge-process-runner';
import { dropSchema, openBarePostgres, testDatabaseUrl, uniqueSchemaName } from '../support/databases';
import { eventually } from '../support/eventually';
import { FAST_CHAT, FAST_OUTBOX, expectDuplicatesOnlyFromLostSends, handoverMapping } from '../handover/harness';
import { deliveriesTo, openLink, photoMessage, sha256, userTimeline } from './attachment-helpers';

/**
 * Attachments across a crash (issue 18): the bridge runs in a child process and is killed with SIGKILL while a
 * file is on its way, then a new process on the same database takes over. A user's photo whose upload was cut
 * off half-way, or taken by Salesforce without the bridge hearing so, reaches the agent once (the retry
 * downloads and uploads again under the same message id), and the text the user sent after it arrives after
 * it. An agent's file queued behind its caption's send in flight reaches the user once, between the texts around
 * it, through a link the new process serves. On the embedded database (in a data folder) and on PostgreSQL when
 * TEST_DATABASE_URL names one.
 */
jest.setTimeout(180_000);

const PUBLIC_URL = 'https://bridge.example.test';
const databaseUrl = testDatabaseUrl();
const DATABASES: Array<'pglite' | 'postgres'> = databaseUrl === undefined ? ['pglite'] : ['pglite', 'postgres'];

let compiled: Promise<string> | undefined;
/** One build of the bridge process for every database. */
const bridgeEntry = (): Promise<string> => (compiled ??= compileBridgeProcess());

/** How the upload in flight at the crash stands: half sent, or taken by Salesforce without the bridge hearing so. */
const STALLS: ReadonlyArray<[string, 'upload' | 'answer']> = [
    ['cut off half-way', 'upload'],
    ['taken by Salesforce, its answer never heard', 'answer']
];

interface JobRow {
    kind: string;
    state: string;
    attempts: number;
}

describe.each(DATABASES)('attachments across a SIGKILL of the bridge (%s)', (database) => {
    const c = SANDBOX_CREDENTIALS;
    const schema = uniqueSchemaName();
    let entry: string;
    let emulators: Emulators | undefined;
    let options: BridgeProcessOptions;
    let dataDir = '';
    let bridge: BridgeProcess | undefined;
    let send: HaptikSender;

    beforeAll(async () => {
        entry = await bridgeEntry();
        emulators = await startEmulators();
        const { salesforce, haptik, chat } = emulators;
        dataDir = await mkdtemp(path.join(tmpdir(), 'attachments-restart-'));
        options = {
            env: {
                ...sandboxEnv(salesforce.url, haptik.url),
                SF_SCRT_URL: chat.url,
                BRIDGE_PUBLIC_URL: PUBLIC_URL,
                // The Haptik emulator's asset host, by its loopback address (listed exactly).
                BRIDGE_FILE_HOSTS: '127.0.0.1',
                ...(database === 'pglite' ? { BRIDGE_DATA_DIR: dataDir } : { DATABASE_URL: databaseUrl! })
            },
            mapping: handoverMapping(),
            ...(database === 'pglite' ? {} : { databaseSchema: schema }),
            outbox: FAST_OUTBOX,
            chatTuning: FAST_CHAT,
            // The killed process's heartbeat runs out in 2 s; then the new one takes its chats over.
            streams: { leaseMs: 2000, tickMs: 200 }
        };
        await start();
    });

    afterAll(async () => {
        await bridge?.kill('SIGKILL');
        await emulators?.close();
        if (database === 'postgres') await dropSchema(databaseUrl!, schema);
    });

    async function start(): Promise<void> {
        bridge = await startBridgeProcess(entry, options);
        send = createHaptikSender(bridge.url, { secret: c.webhookSecret, hookToken: c.hookToken }, emulators!.haptik);
    }

    async function crash(): Promise<void> {
        await bridge!.kill('SIGKILL');
        bridge = undefined;
    }

    /** The outbox jobs of a handover (its chat's and its user's), read between the crash and the restart. */
    async function jobsAfterCrash(handoverId: string, userId: string): Promise<JobRow[]> {
        // The embedded database takes one process at a time: the dead bridge's, now the test's, then the new bridge's.
        const db: Db =
            database === 'pglite' ? await openPgliteDb({ dataDir }) : await openBarePostgres(databaseUrl!, schema);
        try {
            const rows = await db.query<JobRow>(
                `SELECT kind, state, attempts FROM outbox_jobs
                 WHERE kind IN ('chat.send_message', 'chat.send_file', 'haptik.message', 'haptik.send_file')
                   AND (payload ->> 'handoverId' = $1 OR payload ->> 'userId' = $2)
                 ORDER BY id`,
                [handoverId, userId]
            );
            return rows.rows.map((r) => ({ kind: r.kind, state: r.state, attempts: Number(r.attempts) }));
        } finally {
            await db.close();
        }
    }

    /** A handover of the user with Priya in the chat. */
    async function withAgent(userId: string): Promise<{ handoverId: string; conversationId: string }> {
        const { chat, haptik } = emulators!;
        const reply = await send.handover(
            integrationRequest({ userId, userName: `${userId}_name`, node: 'talk_to_agent' })
        );
        expect(reply.status).toBe(200);
        const handoverId = (reply.body as { conversation_details: { handover_id: string } }).conversation_details
            .handover_id;
        // The conversation's id is the handover's (a UUID).
        const conversationId = await eventually(
            () => chat.conversations().find((x) => x.conversationId === handoverId.toLowerCase())?.conversationId
        );
        chat.accept(conversationId, 'Priya');
        await eventually(() =>
            haptik.messagesTo(userId).some((m) => m.text === 'You are now chatting with Priya.') ? true : undefined
        );
        return { handoverId, conversationId };
    }

    /** Upload calls the chat got for a conversation: -1 for one the bridge never heard the answer of. */
    function uploads(conversationId: string): number[] {
        return emulators!.chat.requests
            .filter((r) => r.method === 'POST' && r.path.endsWith(`/conversation/${conversationId}/file`))
            .map((r) => r.status);
    }

    it.each(STALLS)(
        "a user's photo whose upload was %s reaches the agent once after the restart, between the texts around it",
        async (_title, stall) => {
            const { chat, haptik } = emulators!;
            const userId = `u-upload-${stall}`;
            const { handoverId, conversationId } = await withAgent(userId);
            const photo = randomBytes(512 * 1024);
            const name = `${stall}.jpg`;
            const url = haptik.addAsset(name, 'image/jpeg', photo);

            expect(
                (await send.tractMessage(tractMessage({ userId, messageId: 11, text: 'before the photo' }))).status
            ).toBe(200);
            await eventually(() =>
                userTimeline(chat, conversationId).includes('before the photo') ? true : undefined
            );
            const stalledBefore = chat.stats.stalledUploads;
            chat.failNext(1, { on: 'file', stall });
            expect((await send.tractMessage(photoMessage(userId, 12, url, name))).status).toBe(200);
            await eventually(() => (chat.stats.stalledUploads > stalledBefore ? true : undefined));
            // The user writes on while the upload hangs: the text is queued behind the file.
            expect(
                (await send.tractMessage(tractMessage({ userId, messageId: 13, text: 'after the photo' }))).status
            ).toBe(200);
            expect(chat.filesFrom(conversationId)).toHaveLength(stall === 'answer' ? 1 : 0);

            await crash();
            // The file's job was running in the dead process (not done), the later text waits behind it.
            expect(
                (await jobsAfterCrash(handoverId, userId)).filter((j) => j.kind.startsWith('chat.')).slice(-2)
            ).toEqual([
                { kind: 'chat.send_file', state: 'running', attempts: 1 },
                { kind: 'chat.send_message', state: 'pending', attempts: 0 }
            ]);
            await start();

            await eventually(
                () => (userTimeline(chat, conversationId).includes('after the photo') ? true : undefined),
                30_000
            );
            expect(userTimeline(chat, conversationId)).toEqual(['before the photo', `file ${name}`, 'after the photo']);
            const files = chat.filesFrom(conversationId);
            expect(files).toHaveLength(1);
            expect(files[0]).toMatchObject({ name, contentType: 'image/jpeg', size: photo.length });
            expect(files[0]!.sha256).toBe(sha256(photo));
            // Downloaded and uploaded again under the same message id; a file the chat had is not a second file.
            expect(haptik.assetDownloads(name)).toBe(2);
            expect(uploads(conversationId)).toEqual([-1, 202]);
            // Nothing went to the agent as a link instead.
            expect(userTimeline(chat, conversationId).some((t) => t.includes('could not be attached'))).toBe(false);
        }
    );

    it("an agent's file queued behind its caption's send in flight reaches the user once after the restart, between the texts around it", async () => {
        const { chat, haptik } = emulators!;
        const userId = 'u-agent-file';
        const { handoverId, conversationId } = await withAgent(userId);
        const label = randomBytes(48 * 1024);
        chat.agentMessage(conversationId, 'agent before the file');
        await eventually(() =>
            haptik.messagesTo(userId).some((m) => m.text === 'agent before the file') ? true : undefined
        );

        // Haptik takes the caption and never answers. The caption's job and its file's are written in one
        // transaction and the caption is sent after that commit: the file is queued behind it when the bridge dies.
        haptik.holdSendAnswers();
        chat.agentAttachment(
            conversationId,
            { name: 'label.png', mimeType: 'image/png', data: label },
            'agent caption'
        );
        chat.agentMessage(conversationId, 'agent after the file');
        await haptik.waitFor((call) => JSON.stringify(call.body ?? '').includes('agent caption'), 10_000);
        await crash();
        await haptik.releaseSendAnswers();
        const jobs = (await jobsAfterCrash(handoverId, userId)).filter((j) => j.kind.startsWith('haptik.'));
        const file = jobs.findIndex((j) => j.kind === 'haptik.send_file');
        expect(jobs.slice(file - 1, file + 1)).toEqual([
            { kind: 'haptik.message', state: 'running', attempts: 1 },
            { kind: 'haptik.send_file', state: 'pending', attempts: 0 }
        ]);

        await start();
        const agentOnly = (): string[] =>
            deliveriesTo(haptik, userId)
                .map((d) => d.what)
                .filter((what) => what.startsWith('agent ') || what.startsWith('image '));
        await eventually(() => (agentOnly().includes('agent after the file') ? true : undefined), 30_000);

        // The send in flight at the crash is repeated (Haptik cannot be asked whether it arrived); the file once, in order.
        expect(agentOnly()).toEqual([
            'agent before the file',
            'agent caption',
            'agent caption',
            'image label.png',
            'agent after the file'
        ]);
        expectDuplicatesOnlyFromLostSends(haptik, userId);
        // Its link, issued by the new process, serves the agent's file.
        const image = deliveriesTo(haptik, userId).find((d) => d.what === 'image label.png')!;
        expect(new URL(image.link!).origin).toBe(PUBLIC_URL);
        const opened = await openLink(bridge!.url, image.link!);
        expect(opened.status).toBe(200);
        expect(sha256(opened.body)).toBe(sha256(label));
    });
});
