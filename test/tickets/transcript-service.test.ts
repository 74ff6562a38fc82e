import { webhookConversationComplete } from '../emulators/haptik/haptik-sender';
import { parseSettings } from '../../bridge/src/config/mapping-file';
import { BridgeError } from '../../bridge/src/core/errors';
import { createRedactor } from '../../bridge/src/core/redaction';
import type { ChatHistoryEntry } from '../../bridge/src/haptik/chat-history';
import { webhookPayloadSchema } from '../../bridge/src/haptik/payloads';
import { silentLogger } from '../../bridge/src/observability/logger';
import { createTranscriptCaseService, TRANSCRIPT_BUILD_JOB } from '../../bridge/src/services/transcript-case-service';
import type { TranscriptCaseService } from '../../bridge/src/services/transcript-case-service';
import type { Db } from '../../bridge/src/store/db';
import { getInboundEvent, recordInboundEvent } from '../../bridge/src/store/inbox';
import { appendMessage } from '../../bridge/src/store/message-log';
import type { OutboxJobContext } from '../../bridge/src/store/outbox-worker';
import { openMemoryPglite } from '../support/databases';

/** The transcript service against a real (embedded) database, with Haptik and Salesforce as stubs. */
let db: Db;

beforeAll(async () => {
    db = await openMemoryPglite();
});

afterAll(async () => {
    await db.close();
});

function service(mode: 'all' | 'handover' | 'off', history: () => Promise<ChatHistoryEntry[]>): TranscriptCaseService {
    const settings = parseSettings({ transcript: { mode } });
    return createTranscriptCaseService({
        db,
        haptik: { getChatHistory: history },
        userNames: { nameOf: () => Promise.resolve(undefined) },
        salesforce: {
            query: () => Promise.reject(new Error('not used')),
            createContentVersion: () => Promise.reject(new Error('not used')),
            createFileVersion: () => Promise.reject(new Error('not used'))
        },
        settings: settings.transcript,
        businessId: '343',
        redact: createRedactor(settings.redaction.rules),
        logger: silentLogger()
    });
}

async function receive(svc: TranscriptCaseService, userId: string, conversationNo: number): Promise<boolean> {
    const payload = webhookPayloadSchema.parse(
        webhookConversationComplete({ userId, userName: `hu-${userId}`, conversationNo })
    );
    const inbound = { source: 'haptik.webhook', eventId: `webhook:conversation_complete:${conversationNo}:${userId}` };
    return db.transaction(async (tx) => {
        await recordInboundEvent(tx, { ...inbound, payload });
        return svc.onConversationComplete(tx, payload, inbound);
    });
}

async function jobsFor(key: string): Promise<Array<{ kind: string; ordering_key: string; payload: unknown }>> {
    const result = await db.query<{ kind: string; ordering_key: string; payload: unknown }>(
        `SELECT kind, ordering_key, payload FROM outbox_jobs WHERE idempotency_key LIKE $1 ORDER BY id`,
        [`%:${key}`]
    );
    return result.rows;
}

const noHistory = (): Promise<ChatHistoryEntry[]> => Promise.resolve([]);

function context(attempt = 1): OutboxJobContext {
    return {
        jobId: '1',
        kind: TRANSCRIPT_BUILD_JOB,
        orderingKey: 'conversation:x',
        idempotencyKey: 'transcript:x',
        attempt,
        logger: silentLogger()
    };
}

describe('transcript mode', () => {
    it('all: queues a transcript job for every completed conversation', async () => {
        expect(await receive(service('all', noHistory), 'm-all', 1)).toBe(true);
        const jobs = await jobsFor('343:m-all:1');
        expect(jobs.map((j) => [j.kind, j.ordering_key])).toEqual([[TRANSCRIPT_BUILD_JOB, 'conversation:343:m-all:1']]);
    });

    it('off: queues nothing and marks the event processed', async () => {
        expect(await receive(service('off', noHistory), 'm-off', 1)).toBe(false);
        expect(await jobsFor('343:m-off:1')).toEqual([]);
        const event = await getInboundEvent(db, 'haptik.webhook', 'webhook:conversation_complete:1:m-off');
        expect(event?.processedAt).not.toBeNull();
    });

    it('handover: queues only when an agent took part', async () => {
        const svc = service('handover', noHistory);
        expect(await receive(svc, 'm-bot-only', 1)).toBe(false);
        expect(await jobsFor('343:m-bot-only:1')).toEqual([]);

        await appendMessage(db, {
            conversationKey: '343:m-agent:1',
            direction: 'out',
            sender: 'agent',
            text: 'Hello, Ravi here'
        });
        expect(await receive(svc, 'm-agent', 1)).toBe(true);
        expect(await jobsFor('343:m-agent:1')).toHaveLength(1);
    });
});

describe('transcript.build job', () => {
    it('throws a retryable error when get_chat_history is unavailable, queuing nothing', async () => {
        const unavailable = new BridgeError('bridge_haptik_unavailable', 'Haptik is unavailable', {
            details: { retryable: true }
        });
        const svc = service('all', () => Promise.reject(unavailable));
        await receive(svc, 'b-retry', 1);
        const [job] = await jobsFor('343:b-retry:1');
        await expect(svc.handlers[TRANSCRIPT_BUILD_JOB]!(job!.payload, context())).rejects.toBe(unavailable);
        expect(await jobsFor('343:b-retry:1')).toHaveLength(1);
    });

    it('builds the Case from the bridge log alone when Haptik refuses the history for good', async () => {
        const refused = new BridgeError('bridge_haptik_rejected', 'no such conversation', {
            details: { retryable: false }
        });
        const svc = service('all', () => Promise.reject(refused));
        await receive(svc, 'b-refused', 1);
        await appendMessage(db, {
            conversationKey: '343:b-refused:1',
            direction: 'out',
            sender: 'agent',
            text: 'Your card 4111 1111 1111 1111 is blocked now'
        });
        const [job] = await jobsFor('343:b-refused:1');
        await svc.handlers[TRANSCRIPT_BUILD_JOB]!(job!.payload, context());
        const jobs = await jobsFor('343:b-refused:1');
        expect(jobs.map((j) => [j.kind, j.ordering_key])).toEqual([
            [TRANSCRIPT_BUILD_JOB, 'conversation:343:b-refused:1'],
            ['salesforce.upsert', 'case:conv:343:b-refused:1']
        ]);
        const upsert = jobs[1]!.payload as {
            externalIdField: string;
            externalId: string;
            fields: Record<string, unknown>;
        };
        expect(upsert.externalIdField).toBe('Haptik_Conversation_Key__c');
        expect(upsert.externalId).toBe('343:b-refused:1');
        expect(upsert.fields['Haptik_Transcript__c']).toMatch(/\] Agent: Your card \[redacted card\] is blocked now$/);
        expect(upsert.fields).not.toHaveProperty('Status');
        const event = await getInboundEvent(db, 'haptik.webhook', 'webhook:conversation_complete:1:b-refused');
        expect(event?.processedAt).not.toBeNull();
    });

    it('queues the file job after the upsert, on the same ordering key, when the transcript overflows', async () => {
        const long: ChatHistoryEntry[] = Array.from({ length: 300 }, (_, i) => ({
            text: `line ${i} ${'x'.repeat(600)}`,
            plainText: `line ${i} ${'x'.repeat(600)}`,
            sender: 'bot',
            messageId: String(i),
            timestamp: '',
            at: new Date(Date.UTC(2026, 10, 25, 10, 0, i))
        }));
        const svc = service('all', () => Promise.resolve(long));
        await receive(svc, 'b-long', 1);
        const [job] = await jobsFor('343:b-long:1');
        await svc.handlers[TRANSCRIPT_BUILD_JOB]!(job!.payload, context());
        // A second run (after a lost lease) queues nothing new.
        await svc.handlers[TRANSCRIPT_BUILD_JOB]!(job!.payload, context(2));
        const jobs = await jobsFor('343:b-long:1');
        expect(jobs.map((j) => [j.kind, j.ordering_key])).toEqual([
            [TRANSCRIPT_BUILD_JOB, 'conversation:343:b-long:1'],
            ['salesforce.upsert', 'case:conv:343:b-long:1'],
            ['salesforce.transcript_file', 'case:conv:343:b-long:1']
        ]);
        const file = jobs[2]!.payload as { text: string; fileName: string };
        expect(file.fileName).toBe('transcript-343:b-long:1.txt');
        expect(file.text).toContain('line 299');
        expect(file.text.length).toBeGreaterThan(180_000);
    });
});
