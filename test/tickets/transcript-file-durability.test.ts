/**
 * The transcript file is attached once (issue 16, suspected: confirmed). A create that a gateway answered
 * 502 after Salesforce saved it was retried by the client (a second file), and a retry of the job whose
 * "is it attached already?" query failed took the failure for "not attached" (a second file again).
 */
import { parseSettings } from '../../bridge/src/config/mapping-file';
import { isBridgeError } from '../../bridge/src/core/errors';
import { createRedactor } from '../../bridge/src/core/redaction';
import { silentLogger } from '../../bridge/src/observability/logger';
import { createTranscriptCaseService, TRANSCRIPT_FILE_JOB } from '../../bridge/src/services/transcript-case-service';
import type { TranscriptFilePayload } from '../../bridge/src/services/transcript-case-service';
import type { Db } from '../../bridge/src/store/db';
import { isPermanentFailure } from '../../bridge/src/store/outbox-worker';
import type { OutboxJobContext } from '../../bridge/src/store/outbox-worker';
import { startSalesforceEmulator } from '../emulators/salesforce';
import type { SalesforceEmulator } from '../emulators/salesforce';
import { CLIENT_ID, CLIENT_SECRET, clientFor } from '../salesforce/helpers';
import { openMemoryPglite } from '../support/databases';

let db: Db;
let emulator: SalesforceEmulator;

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
        jobId: '2',
        kind: TRANSCRIPT_FILE_JOB,
        orderingKey: 'case:conv:343:f:1',
        idempotencyKey: 'transcript-file:343:f:1',
        attempt,
        logger: silentLogger()
    };
}

/** A Case, its done upsert job, and the file job's payload. */
async function fileJob(key: string): Promise<TranscriptFilePayload> {
    const kase = emulator.insert('Case', { Subject: 'transcript', Haptik_Conversation_Key__c: key });
    const { rows } = await db.query<{ id: string }>(
        `INSERT INTO outbox_jobs (kind, ordering_key, payload, state, result, finished_at)
         VALUES ('salesforce.upsert', $1, '{}', 'done', $2::jsonb, now()) RETURNING id`,
        [`case:conv:${key}`, JSON.stringify({ id: kase['Id'], created: true })]
    );
    return {
        conversationKey: key,
        upsertJobId: String(rows[0]!.id),
        fileName: `transcript-${key}.txt`,
        title: `Chat transcript ${key}`,
        text: 'the whole transcript'
    };
}

function attachHandler() {
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
        logger: silentLogger()
    });
    return service.handlers[TRANSCRIPT_FILE_JOB]!;
}

const filesOf = (key: string) =>
    emulator.records('ContentVersion').filter((v) => v['PathOnClient'] === `transcript-${key}.txt`);

describe('transcript file, attached once', () => {
    it('a 502 from a gateway after the file was saved: no second file, the job retries and finds the first', async () => {
        const attach = attachHandler();
        const payload = await fileJob('343:f:1');
        emulator.failNext(1, { gatewayErrorAfterWork: 502 });
        const first = await attach(payload, context(1)).then(
            () => undefined,
            (error: unknown) => error
        );
        expect(filesOf('343:f:1')).toHaveLength(1);
        // The outcome is unknown: the job is retried (not dead-lettered), and the retry looks first.
        expect(first).toBeDefined();
        expect(isPermanentFailure(first)).toBe(false);
        await attach(payload, context(2));
        expect(filesOf('343:f:1')).toHaveLength(1);
    });

    it('a retry whose "attached already?" query fails does not attach a second file; it tries again later', async () => {
        const attach = attachHandler();
        const payload = await fileJob('343:f:2');
        await attach(payload, context(1));
        expect(filesOf('343:f:2')).toHaveLength(1);
        // The job's success was not recorded (a crash): it runs again while the query keeps failing.
        // Exactly the query's four tries fail: the create after it would go through.
        emulator.failNext(4, { status: 503 });
        const again = await attach(payload, context(2)).then(
            () => undefined,
            (error: unknown) => error
        );
        expect(isBridgeError(again)).toBe(true);
        expect(isPermanentFailure(again)).toBe(false);
        expect(filesOf('343:f:2')).toHaveLength(1);
    });
});
