import { randomBytes } from 'node:crypto';
import { tractEvent } from '../emulators/haptik';
import type { EnhancedChatEmulator } from '../emulators/enhanced-chat/enhanced-chat-emulator';
import type { SfRecord } from '../emulators/salesforce';
import { eventually } from '../support/eventually';
import { requestAgent, startHandoverSandbox, waitForState, waitForText } from '../handover/harness';
import type { HandoverSandbox } from '../handover/harness';
import { photoMessage, sha256 } from './attachment-helpers';

/**
 * BRIDGE_TRANSCRIPT_FILES=link (issue 18, item 4), end to end over the emulators: when the conversation is
 * complete, each file of it, the user's and the agent's, is put on the transcript Case as a ContentVersion, its
 * bytes streamed from where it came from (the user's from Haptik's asset host, the agent's from the chat with the
 * chat's credentials); exactly once, also when a gateway's 502 hides that Salesforce saved it; and a file that is
 * gone by then is given up at once, the transcript saying it was not attached and why.
 */

let sandbox: HandoverSandbox;

beforeAll(async () => {
    sandbox = await startHandoverSandbox({
        env: {
            BRIDGE_PUBLIC_URL: 'https://bridge.example.test',
            BRIDGE_FILE_HOSTS: '127.0.0.1',
            BRIDGE_FILE_MAX_BYTES: String(1024 * 1024),
            BRIDGE_TRANSCRIPT_FILES: 'link'
        }
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

/** The user's photo, relayed to the agent (so the bridge has seen it). */
async function userPhoto(userId: string, conversationId: string, messageId: number, name: string, data: Buffer) {
    const url = sandbox.haptik.addAsset(name, 'image/jpeg', data);
    expect((await sandbox.send.tractMessage(photoMessage(userId, messageId, url, name))).status).toBe(200);
    await eventually(() =>
        chat()
            .filesFrom(conversationId)
            .find((f) => f.name === name)
    );
}

async function complete(userId: string): Promise<SfRecord> {
    expect((await sandbox.send.tractEvent(tractEvent({ userId, subcategory: 'complete' }))).status).toBe(200);
    return eventually(() =>
        sandbox.salesforce
            .records('Case')
            .find((c) => c['Haptik_Conversation_Key__c'] === `343:${userId}:1` && c['Haptik_Transcript__c'])
    );
}

/** The Case's files, once `count` are there and every file job of the conversation is finished. */
async function caseFiles(caseId: unknown, userId: string, count: number): Promise<SfRecord[]> {
    await eventually(async () => {
        const open = await sandbox.bridge.db.query(
            `SELECT 1 FROM outbox_jobs WHERE ordering_key = $1 AND state IN ('pending', 'running')`,
            [`case:conv:343:${userId}:1`]
        );
        return open.rows.length === 0 ? true : undefined;
    });
    const files = sandbox.salesforce.records('ContentVersion').filter((v) => v['FirstPublishLocationId'] === caseId);
    expect(files).toHaveLength(count);
    return files;
}

/** The statuses of the ContentVersion inserts the emulator has seen. */
const insertStatuses = (): number[] =>
    sandbox.salesforce.requests
        .filter((r) => r.method === 'POST' && r.path.endsWith('/sobjects/ContentVersion'))
        .map((r) => r.status);

const bytesOf = (version: SfRecord): Buffer => Buffer.from(String(version['VersionData']), 'base64');

const transcriptOf = (caseId: unknown): string => {
    const text = sandbox.salesforce.records('Case').find((c) => c['Id'] === caseId)?.['Haptik_Transcript__c'];
    return typeof text === 'string' ? text : '';
};

describe('files on the transcript Case (BRIDGE_TRANSCRIPT_FILES=link)', () => {
    it("puts the user's and the agent's files on the Case, with their bytes, and lists them with their sizes", async () => {
        const userId = 'u-case-files';
        const { conversationId } = await withAgent(userId);
        const photo = randomBytes(300 * 1024);
        await userPhoto(userId, conversationId, 501, 'dent.jpg', photo);
        const label = randomBytes(40 * 1024);
        chat().agentAttachment(conversationId, { name: 'label.pdf', mimeType: 'application/pdf', data: label });
        // The agent's file reached the user as a link; nobody opened it, so its size is not known yet.
        await eventually(() => sandbox.haptik.messagesTo(userId).find((m) => m.text.includes('label.pdf')));

        const kase = await complete(userId);
        const files = await caseFiles(kase['Id'], userId, 2);
        const byName = new Map(files.map((f) => [String(f['PathOnClient']).split('/').pop(), f]));
        expect(sha256(bytesOf(byName.get('dent.jpg')!))).toBe(sha256(photo));
        expect(bytesOf(byName.get('label.pdf')!).equals(label)).toBe(true);
        expect(byName.get('dent.jpg')).toMatchObject({
            Title: 'dent',
            ContentSize: photo.length,
            FileExtension: 'jpg'
        });
        expect(byName.get('label.pdf')).toMatchObject({ Title: 'label', ContentSize: label.length });
        // Shared with the Case (and so on its Files list), as FirstPublishLocationId does.
        const links = sandbox.salesforce
            .records('ContentDocumentLink')
            .filter((l) => l['LinkedEntityId'] === kase['Id']);
        expect(links.map((l) => l['ContentDocumentId']).sort()).toEqual(
            files.map((f) => f['ContentDocumentId']).sort()
        );

        // The transcript lists both, with their sizes: the agent's learnt when the bridge streamed it to the Case.
        const transcript = await eventually(() => {
            const text = transcriptOf(kase['Id']);
            return text.includes('label.pdf (application/pdf, 40 KB)') ? text : undefined;
        });
        expect(transcript).toMatch(/\] [^:\n]+: \[user file\] dent\.jpg \(image\/jpeg, 300 KB\)(\n|$)/);
        expect(transcript).toMatch(/\] Priya: \[agent file\] label\.pdf \(application\/pdf, 40 KB\)(\n|$)/);
        expect(transcript).not.toContain('not attached');
        const rows = await sandbox.bridge.db.query<{ name: string; content_version_id: string }>(
            `SELECT name, content_version_id FROM handover_files WHERE conversation_key = $1 ORDER BY name`,
            [`343:${userId}:1`]
        );
        expect(rows.rows).toEqual([
            { name: 'dent.jpg', content_version_id: byName.get('dent.jpg')!['Id'] },
            { name: 'label.pdf', content_version_id: byName.get('label.pdf')!['Id'] }
        ]);
    });

    it('a 502 from a gateway after Salesforce saved the file: the retry finds it, no second ContentVersion', async () => {
        const userId = 'u-case-file-502';
        const { conversationId } = await withAgent(userId);
        const photo = randomBytes(64 * 1024);
        await userPhoto(userId, conversationId, 511, 'meter.jpg', photo);
        const before = insertStatuses().length;
        // The ContentVersion insert is saved, then the gateway in front answers 502: the bridge cannot know.
        sandbox.salesforce.failNext(1, { gatewayErrorAfterWork: 502, onPath: '/sobjects/ContentVersion' });

        const kase = await complete(userId);
        const [version] = await caseFiles(kase['Id'], userId, 1);
        expect(sha256(bytesOf(version!))).toBe(sha256(photo));
        expect(insertStatuses().slice(before)).toEqual([502]);
        const row = await sandbox.bridge.db.query<{ content_version_id: string }>(
            `SELECT content_version_id FROM handover_files WHERE conversation_key = $1`,
            [`343:${userId}:1`]
        );
        expect(row.rows).toEqual([{ content_version_id: version!['Id'] }]);

        // The file's job runs once more, as after a crash that lost the record of its ContentVersion: it looks
        // first, finds the file on the Case and keeps its id; nothing is sent again.
        await sandbox.bridge.db.query(
            `UPDATE handover_files SET content_version_id = NULL WHERE conversation_key = $1`,
            [`343:${userId}:1`]
        );
        await sandbox.bridge.db.query(
            `UPDATE outbox_jobs SET state = 'pending', run_at = NULL WHERE kind = 'salesforce.case_file'
             AND ordering_key = $1`,
            [`case:conv:343:${userId}:1`]
        );
        sandbox.bridge.outbox.notify();
        await eventually(async () => {
            const again = await sandbox.bridge.db.query<{ content_version_id: string | null }>(
                `SELECT content_version_id FROM handover_files WHERE conversation_key = $1`,
                [`343:${userId}:1`]
            );
            return again.rows[0]?.content_version_id === version!['Id'] ? true : undefined;
        });
        await caseFiles(kase['Id'], userId, 1);
        expect(insertStatuses().slice(before)).toEqual([502]);
    });

    it('a file gone by transcript time is given up at once, and the transcript says it was not attached and why', async () => {
        const userId = 'u-case-file-gone';
        const { conversationId } = await withAgent(userId);
        await userPhoto(userId, conversationId, 521, 'gone.jpg', randomBytes(10 * 1024));
        const kept = randomBytes(8 * 1024);
        await userPhoto(userId, conversationId, 522, 'kept.jpg', kept);
        const sent = chat().agentAttachment(conversationId, {
            name: 'old-label.pdf',
            mimeType: 'application/pdf',
            data: randomBytes(4096)
        });
        await eventually(() => sandbox.haptik.messagesTo(userId).find((m) => m.text.includes('old-label.pdf')));
        // By the time the conversation is complete, Haptik's asset host no longer has the photo, and the agent's
        // attachment URL has expired.
        sandbox.haptik.removeAsset('gone.jpg');
        chat().expireAttachment(sent.attachmentId);

        const kase = await complete(userId);
        const [version] = await caseFiles(kase['Id'], userId, 1);
        expect(bytesOf(version!).equals(kept)).toBe(true);
        const transcript = await eventually(() => {
            const text = transcriptOf(kase['Id']);
            return text.includes('not attached') && text.includes('old-label.pdf') ? text : undefined;
        });
        expect(transcript).toContain(
            '[user file] gone.jpg (image/jpeg, 10 KB): not attached to the Case (the file is no longer available)'
        );
        expect(transcript).toContain(
            '[agent file] old-label.pdf (application/pdf, size unknown): not attached to the Case (the file is no longer available)'
        );
        expect(transcript).toMatch(/\[user file\] kept\.jpg \(image\/jpeg, 8 KB\)(\n|$)/);
        // Each was tried once: a file that is gone is not retried.
        const jobs = await sandbox.bridge.db.query<{ state: string; attempts: number }>(
            `SELECT state, attempts FROM outbox_jobs WHERE kind = 'salesforce.case_file' AND ordering_key = $1`,
            [`case:conv:343:${userId}:1`]
        );
        expect(jobs.rows.map((j) => [j.state, Number(j.attempts)])).toEqual([
            ['done', 1],
            ['done', 1],
            ['done', 1]
        ]);
    });
});
