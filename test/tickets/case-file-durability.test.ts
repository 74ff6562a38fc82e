/**
 * A chat's file on the transcript Case (BRIDGE_TRANSCRIPT_FILES=link): given up, never retried forever, when it
 * cannot be had; never sent twice or taken for "not there" when Salesforce cannot be asked. The job handler runs
 * here with the attempt numbers the outbox would give it, against the Salesforce emulator.
 */
import { Readable } from 'node:stream';
import { parseSettings } from '../../bridge/src/config/mapping-file';
import { BridgeError, isBridgeError } from '../../bridge/src/core/errors';
import { createRedactor } from '../../bridge/src/core/redaction';
import { silentLogger } from '../../bridge/src/observability/logger';
import {
    CASE_FILE_JOB,
    createTranscriptCaseService,
    notAttachedText
} from '../../bridge/src/services/transcript-case-service';
import type { CaseFilePayload, TranscriptFilesDeps } from '../../bridge/src/services/transcript-case-service';
import { upsertConversation } from '../../bridge/src/store/conversations';
import type { Db } from '../../bridge/src/store/db';
import { getHandoverFile, recordHandoverFiles } from '../../bridge/src/store/handover-files';
import { createHandoverSession } from '../../bridge/src/store/handover-sessions';
import { isPermanentFailure } from '../../bridge/src/store/outbox-worker';
import type { OutboxJobContext } from '../../bridge/src/store/outbox-worker';
import { startSalesforceEmulator } from '../emulators/salesforce';
import type { SalesforceEmulator } from '../emulators/salesforce';
import { CLIENT_ID, CLIENT_SECRET, clientFor } from '../salesforce/helpers';
import { openMemoryPglite } from '../support/databases';

let db: Db;
let emulator: SalesforceEmulator;
let serial = 0;

beforeAll(async () => {
    db = await openMemoryPglite();
});
afterAll(async () => {
    await db.close();
});
beforeEach(async () => {
    emulator = await startSalesforceEmulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
});
afterEach(async () => {
    await emulator.close();
});

function context(attempt: number): OutboxJobContext {
    return {
        jobId: '9',
        kind: CASE_FILE_JOB,
        orderingKey: 'case:conv:343:cf:1',
        idempotencyKey: 'case-file:x',
        attempt,
        logger: silentLogger()
    };
}

/** A conversation with one file of `sender`, its Case (upsert job done) and the file job's payload. */
async function caseFileJob(sender: 'user' | 'agent'): Promise<CaseFilePayload> {
    serial += 1;
    const conversation = await upsertConversation(db, { businessId: '343', userId: `cf-${serial}`, conversationNo: 1 });
    const { session } = await createHandoverSession(db, {
        conversationKey: conversation.key,
        adapter: 'enhanced',
        state: 'ended'
    });
    const fileId = `${sender}:${session.id}:m1:0`;
    await recordHandoverFiles(db, [
        {
            id: fileId,
            conversationKey: conversation.key,
            handoverId: session.id,
            messageId: 'm1',
            position: 0,
            sender,
            name: 'scan.pdf',
            contentType: 'application/pdf',
            sourceUrl: 'https://assets.haptikapi.com/scan.pdf',
            ...(sender === 'agent' ? { sourceId: '069000000000001' } : {})
        }
    ]);
    const kase = emulator.insert('Case', { Subject: 'transcript', Haptik_Conversation_Key__c: conversation.key });
    const { rows } = await db.query<{ id: string }>(
        `INSERT INTO outbox_jobs (kind, ordering_key, payload, state, result, finished_at)
         VALUES ('salesforce.upsert', $1, '{}', 'done', $2::jsonb, now()) RETURNING id`,
        [`case:conv:${conversation.key}`, JSON.stringify({ id: kase['Id'], created: true })]
    );
    return { conversationKey: conversation.key, upsertJobId: String(rows[0]!.id), fileId };
}

function handler(files: Partial<TranscriptFilesDeps>) {
    const settings = parseSettings({});
    const { client } = clientFor(emulator);
    const service = createTranscriptCaseService({
        db,
        haptik: { getChatHistory: () => Promise.resolve([]) },
        userNames: { nameOf: () => Promise.resolve(undefined) },
        salesforce: client,
        settings: settings.transcript,
        businessId: '343',
        redact: createRedactor(settings.redaction.rules),
        logger: silentLogger(),
        files: {
            mode: 'link',
            userFiles: { open: () => Promise.reject(new Error('not used')) },
            agentFiles: undefined,
            maxBytes: 1024,
            timeoutMs: 5000,
            attempts: 3,
            ...files
        }
    });
    return service.handlers[CASE_FILE_JOB]!;
}

const outcome = (promise: Promise<unknown>): Promise<unknown> =>
    promise.then(
        (value) => value,
        (error: unknown) => error
    );

describe('a file on the transcript Case: given up, not retried forever', () => {
    it('a host that keeps failing: retried, then given up after the last attempt, and the transcript can say so', async () => {
        let downloads = 0;
        const attach = handler({
            userFiles: {
                open: () => {
                    downloads += 1;
                    return Promise.reject(
                        new BridgeError('bridge_files_unavailable', 'The file host answered 503', {
                            details: { retryable: true, status: 503 }
                        })
                    );
                }
            }
        });
        const job = await caseFileJob('user');
        for (const attempt of [1, 2]) {
            const failed = await outcome(attach(job, context(attempt)));
            expect(isBridgeError(failed, 'bridge_files_unavailable')).toBe(true);
            expect(isPermanentFailure(failed)).toBe(false);
        }
        expect(await attach(job, context(3))).toEqual({ notAttached: 'bridge_files_unavailable' });
        expect((await getHandoverFile(db, job.fileId))?.notAttached).toBe('bridge_files_unavailable');
        // Run again (an operator's retry): the file stays given up, nothing is fetched.
        expect(await attach(job, context(4))).toEqual({ notAttached: 'bridge_files_unavailable' });
        expect(downloads).toBe(3);
        expect(emulator.records('ContentVersion')).toEqual([]);
    });

    it("an agent's file that grows past BRIDGE_FILE_MAX_BYTES on the way is cut off and given up; nothing is saved", async () => {
        const attach = handler({
            agentFiles: {
                // No Content-Length: the limit is found while the file streams.
                open: () => Promise.resolve({ body: Readable.from([Buffer.alloc(700), Buffer.alloc(700)]) })
            }
        });
        const job = await caseFileJob('agent');
        expect(await attach(job, context(1))).toEqual({ notAttached: 'bridge_files_too_large' });
        expect(emulator.records('ContentVersion')).toEqual([]);
    });

    it("an agent's file where no chat can open it any more (no chat adapter) is given up, and says so", async () => {
        const attach = handler({ agentFiles: undefined });
        const job = await caseFileJob('agent');
        expect(await attach(job, context(1))).toEqual({ notAttached: 'bridge_files_chat_unreachable' });
        expect(notAttachedText('bridge_files_chat_unreachable')).toBe("the chat's files can no longer be opened");
    });

    it('when Salesforce cannot be asked whether the file is there already, nothing is fetched or sent', async () => {
        let downloads = 0;
        const attach = handler({
            userFiles: {
                open: () => {
                    downloads += 1;
                    return Promise.reject(new Error('not reached'));
                }
            }
        });
        const job = await caseFileJob('user');
        // The look's four tries fail: the upload after it would go through.
        emulator.failNext(4, { status: 503 });
        const failed = await outcome(attach(job, context(2)));
        expect(isBridgeError(failed)).toBe(true);
        expect(isPermanentFailure(failed)).toBe(false);
        expect(downloads).toBe(0);
        expect((await getHandoverFile(db, job.fileId))?.notAttached).toBeUndefined();
    });

    it('Salesforce refusing the file (a rule, storage full) is final for that file', async () => {
        const attach = handler({
            userFiles: {
                open: () =>
                    Promise.resolve({
                        url: 'https://assets.haptikapi.com/scan.pdf',
                        contentType: 'application/pdf',
                        contentLength: 5,
                        fileName: 'scan.pdf',
                        body: Readable.from([Buffer.from('%PDF-')])
                    })
            }
        });
        emulator.failValidation('ContentVersion', {
            errorCode: 'STORAGE_LIMIT_EXCEEDED',
            message: 'storage limit exceeded',
            fields: []
        });
        const job = await caseFileJob('user');
        expect(await attach(job, context(1))).toEqual({ notAttached: 'bridge_salesforce_api_error' });
        expect(emulator.records('ContentVersion')).toEqual([]);
    });
});
