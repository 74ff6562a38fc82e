/**
 * API economy and durability of Case writes: `salesforce.upsert` jobs run through the real outbox
 * worker, the real Salesforce client and the emulator. Bursts go out as sObject Collections calls
 * (≤ 200 records each), each job keeps its own outcome, and transient failures (503 outage, timeouts,
 * token expiry, REQUEST_LIMIT_EXCEEDED) end in exactly one Case per key.
 */
import type { HaptikClient } from '../../bridge/src/haptik/haptik-client';
import { createMetrics } from '../../bridge/src/observability/metrics';
import type { SalesforceClient } from '../../bridge/src/salesforce/salesforce-client';
import { createSalesforceClient } from '../../bridge/src/salesforce/salesforce-client';
import { enqueueOutbound, outboundBatchHandlers, outboundJobHandlers } from '../../bridge/src/services/outbound-jobs';
import type { OutboundJobPayload } from '../../bridge/src/services/outbound-jobs';
import type { Db } from '../../bridge/src/store/db';
import { awaitJob, getOutboxJob, outboxDepth } from '../../bridge/src/store/outbox';
import { createOutboxWorker } from '../../bridge/src/store/outbox-worker';
import type { OutboxWorker, OutboxWorkerOptions } from '../../bridge/src/store/outbox-worker';
import { startSalesforceEmulator } from '../emulators/salesforce';
import type { SalesforceEmulator } from '../emulators/salesforce';
import { CLIENT_ID, CLIENT_SECRET, sfConfig } from '../salesforce/helpers';
import { databaseTargets } from '../support/databases';
import { silentLogger } from '../../bridge/src/observability/logger';
import { captureLogger, ManualClock } from '../support/test-clock-and-log';

const KEY = 'Haptik_Conversation_Key__c';

const noHaptik: HaptikClient = {
    sendMessage: () => Promise.reject(new Error('not used')),
    sendEvent: () => Promise.reject(new Error('not used')),
    passThreadControl: () => Promise.reject(new Error('not used')),
    getChatHistory: () => Promise.reject(new Error('not used')),
    listeners: () => Promise.reject(new Error('not used')),
    getUser: () => Promise.reject(new Error('not used'))
};

function caseJob(conversation: string, fields: Record<string, unknown> = {}, orderingKey = conversation) {
    return {
        orderingKey: `case:${orderingKey}`,
        idempotencyKey: `case:${conversation}:${JSON.stringify(fields)}:${orderingKey}`,
        payload: {
            type: 'Case',
            externalIdField: KEY,
            externalId: conversation,
            fields: { Subject: `Chat ${conversation}`, Origin: 'Chat', ...fields }
        }
    };
}

describe.each(databaseTargets())('Case writes through the outbox on $name', (target) => {
    let db: Db;
    let emulator: SalesforceEmulator;
    let salesforce: SalesforceClient;
    let clock: ManualClock;
    let worker: OutboxWorker | undefined;

    beforeAll(async () => {
        db = await target.open();
    });
    afterAll(async () => {
        await db.close();
    });

    beforeEach(async () => {
        await db.query('DELETE FROM outbox_jobs');
        clock = new ManualClock();
        emulator = await startSalesforceEmulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
        salesforce = createSalesforceClient(sfConfig(emulator.url), {
            logger: silentLogger(),
            metrics: createMetrics(),
            retry: { attempts: 2, baseMs: 1, maxMs: 2 },
            timeoutMs: 2000
        });
        await salesforce.authorize();
        emulator.reset();
    });

    afterEach(async () => {
        await worker?.stop();
        worker = undefined;
        await emulator.close();
    });

    function startWorker(overrides: Partial<OutboxWorkerOptions> = {}): OutboxWorker {
        worker = createOutboxWorker({
            db,
            handlers: outboundJobHandlers({ haptik: noHaptik, salesforce }),
            batchHandlers: outboundBatchHandlers({ salesforce }),
            clock,
            logger: silentLogger(),
            concurrency: 4,
            random: () => 0.5,
            ...overrides
        });
        return worker;
    }

    async function enqueueAll(
        jobs: Array<{ orderingKey: string; idempotencyKey: string; payload: OutboundJobPayload<'salesforce.upsert'> }>
    ): Promise<string[]> {
        return db.transaction(async (tx) => {
            const ids: string[] = [];
            for (const job of jobs) ids.push((await enqueueOutbound(tx, 'salesforce.upsert', job)).id);
            return ids;
        });
    }

    function casesPerKey(): Map<string, number> {
        const counts = new Map<string, number>();
        for (const c of emulator.records('Case')) counts.set(String(c[KEY]), (counts.get(String(c[KEY])) ?? 0) + 1);
        return counts;
    }

    it('sends a burst of 1,000 Case upserts in at most 5 + 1000/200 calls, one Case each', async () => {
        const ids = await enqueueAll(Array.from({ length: 1000 }, (_, i) => caseJob(`343:user-${i}:1`)));
        const w = startWorker();
        expect(await w.drain()).toBe(1000);

        expect(emulator.apiCalls.total).toBeLessThanOrEqual(5 + 1000 / 200);
        expect(emulator.apiCalls.byKind).toEqual({ composite: emulator.apiCalls.total });
        const counts = casesPerKey();
        expect(counts.size).toBe(1000);
        expect([...counts.values()].every((n) => n === 1)).toBe(true);
        const first = await awaitJob(db, ids[0]!, { timeoutMs: 0 });
        expect(first).toEqual({
            state: 'done',
            result: { id: expect.stringMatching(/^500/) as unknown, created: true },
            lastErrorCode: null
        });
        expect(await outboxDepth(db)).toEqual({ pending: 0, running: 0, dead: 0 });
    });

    it('also batches when the worker runs on its own (notify), several batches at a time', async () => {
        const w = startWorker({ pollIntervalMs: 60_000 });
        w.start();
        const ids = await enqueueAll(Array.from({ length: 600 }, (_, i) => caseJob(`343:live-${i}:1`)));
        w.notify();
        const outcomes = await Promise.all(ids.map((id) => awaitJob(db, id, { timeoutMs: 30_000, pollMs: 50 })));
        expect(outcomes.every((o) => o.state === 'done')).toBe(true);
        expect(emulator.records('Case')).toHaveLength(600);
        expect(emulator.apiCalls.total).toBeLessThanOrEqual(5 + 600 / 200);
    });

    it('sends a lone job at once on notify, without waiting for a batch to fill or the next poll', async () => {
        const w = startWorker({ pollIntervalMs: 60_000 });
        w.start();
        const [id] = await enqueueAll([caseJob('343:lone:1')]);
        w.notify();
        // The poll interval is a minute: only notify() can have started it.
        const outcome = await awaitJob(db, id!, { timeoutMs: 20_000 });
        expect(outcome.state).toBe('done');
        expect(emulator.records('Case').map((c) => c[KEY])).toEqual(['343:lone:1']);
        expect(emulator.apiCalls.total).toBe(1);
    });

    it('awaitJob answers with the current state when the timeout passes first', async () => {
        const [id] = await enqueueAll([caseJob('343:waiting:1')]);
        expect(await awaitJob(db, id!, { timeoutMs: 30, pollMs: 10 })).toEqual({
            state: 'pending',
            result: null,
            lastErrorCode: null
        });
        expect(await awaitJob(db, '999999999', { timeoutMs: 0 })).toMatchObject({ state: 'dead' });
    });

    it('dead-letters only the job whose record fails validation, with one log line naming the field', async () => {
        emulator.failValidation('Case', {
            errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
            message: 'Reason is required for complaints',
            fields: ['Reason'],
            match: { Type: 'Complaint' }
        });
        const jobs = Array.from({ length: 10 }, (_, i) =>
            caseJob(`343:v-${i}:1`, i === 4 ? { Type: 'Complaint' } : { Type: 'Question' })
        );
        jobs.push(caseJob('343:v-long:1', { SuppliedName: 'N'.repeat(81) }));
        const ids = await enqueueAll(jobs);
        const capture = captureLogger();
        const w = startWorker({ logger: capture.logger });
        await w.drain();

        const states = await Promise.all(ids.map(async (id) => (await getOutboxJob(db, id))!));
        expect(states.filter((j) => j.state === 'done')).toHaveLength(9);
        const dead = states.filter((j) => j.state === 'dead');
        expect(dead.map((j) => j.id)).toEqual([ids[4], ids[10]]);
        expect(dead.every((j) => j.attempts === 1 && j.lastErrorCode === 'bridge_salesforce_api_error')).toBe(true);
        expect(dead[0]!.lastError).toContain('FIELD_CUSTOM_VALIDATION_EXCEPTION');
        expect(dead[1]!.lastError).toContain('STRING_TOO_LONG');
        expect(emulator.records('Case')).toHaveLength(9);
        expect(emulator.apiCalls.total).toBe(1);

        const deadLines = capture.lines().filter((l) => l.msg === 'outbox job dead-lettered');
        const byJob = deadLines.map((l) => [l.jobId, l.fields]).sort((a, b) => Number(a[0]) - Number(b[0]));
        expect(byJob).toEqual([
            [ids[4], ['Reason']],
            [ids[10], ['SuppliedName']]
        ]);
        // No personal data (the payload) in the log.
        expect(JSON.stringify(capture.lines())).not.toContain('NNNNNNNN');
    });

    it('keeps per-key order: later writes of a key go in later calls and win', async () => {
        const jobs = [];
        for (let version = 1; version <= 3; version++) {
            for (let k = 0; k < 5; k++) jobs.push(caseJob(`343:ordered-${k}:1`, { Description: `v${version}` }));
        }
        const ids = await enqueueAll(jobs);
        const w = startWorker();
        await w.drain();

        expect(emulator.apiCalls.total).toBe(3);
        for (const c of emulator.records('Case')) expect(c.Description).toBe('v3');
        expect(emulator.records('Case')).toHaveLength(5);
        const results = await Promise.all(ids.map((id) => awaitJob(db, id, { timeoutMs: 0 })));
        const created = results.map((r) => (r.result as { created: boolean }).created);
        expect(created).toEqual([...Array<boolean>(5).fill(true), ...Array<boolean>(10).fill(false)]);
    });

    it('groups a batch by object and external-id field: one call per group', async () => {
        const events = Array.from({ length: 3 }, (_, i) => ({
            orderingKey: `case:event-${i}`,
            idempotencyKey: `event-${i}`,
            payload: {
                type: 'Case',
                externalIdField: 'Haptik_Event_Key__c',
                externalId: `343:u:1:node-${i}`,
                fields: { Subject: `Lead ${i}` }
            }
        }));
        const ids = await enqueueAll([...events, caseJob('343:grouped-1:1'), caseJob('343:grouped-2:1')]);
        const w = startWorker();
        expect(await w.drain()).toBe(5);
        expect(emulator.apiCalls.byKind).toEqual({ composite: 2 });
        const calls = emulator.requests.filter((r) => r.kind === 'composite').map((r) => r.path.split('/').at(-1));
        expect(calls.sort()).toEqual(['Haptik_Conversation_Key__c', 'Haptik_Event_Key__c']);
        const results = await Promise.all(ids.map((id) => awaitJob(db, id, { timeoutMs: 0 })));
        expect(results.every((r) => r.state === 'done')).toBe(true);
        expect(emulator.records('Case')).toHaveLength(5);
    });

    it('sends two jobs of one external id but different ordering keys in consecutive calls, in job order', async () => {
        const ids = await enqueueAll([
            caseJob('343:shared:1', { Description: 'from the handover' }, 'handover'),
            caseJob('343:shared:1', { Description: 'from the transcript' }, 'transcript')
        ]);
        const w = startWorker();
        await w.drain();
        const results = await Promise.all(ids.map((id) => awaitJob(db, id, { timeoutMs: 0 })));
        expect(results.map((r) => r.state)).toEqual(['done', 'done']);
        expect(results.map((r) => (r.result as { created: boolean }).created)).toEqual([true, false]);
        expect(emulator.records('Case').map((c) => c.Description)).toEqual(['from the transcript']);
        expect(emulator.apiCalls.total).toBe(2);
    });

    it('rides out a 60 s outage of 503s with the default backoff: exactly one Case per conversation', async () => {
        const conversations = Array.from({ length: 30 }, (_, i) => `343:outage-${i}:1`);
        const ids = await enqueueAll(conversations.map((c) => caseJob(c)));
        emulator.failNext(1_000_000, { status: 503 });
        const w = startWorker(); // default backoff (1 s doubling, full jitter) and 8 attempts; jitter fixed at 0.5
        const outageMs = 60_000;
        let elapsed = 0;
        let failuresSeen = 0;
        while (elapsed <= 5 * 60_000) {
            if (elapsed >= outageMs && failuresSeen === 0) {
                failuresSeen = (await outboxDepth(db)).pending;
                emulator.reset(); // the outage ends
            }
            await w.drain();
            if ((await outboxDepth(db)).pending === 0 && elapsed >= outageMs) break;
            clock.advance(250);
            elapsed += 250;
        }
        expect(failuresSeen).toBe(30);
        const jobs = await Promise.all(ids.map(async (id) => (await getOutboxJob(db, id))!));
        expect(jobs.every((j) => j.state === 'done')).toBe(true);
        expect(Math.min(...jobs.map((j) => j.attempts))).toBeGreaterThan(5);
        const counts = casesPerKey();
        expect([...counts.keys()].sort()).toEqual([...conversations].sort());
        expect([...counts.values()].every((n) => n === 1)).toBe(true);
    });

    it('retries timeouts, token expiry and REQUEST_LIMIT_EXCEEDED with backoff; nothing lost or duplicated', async () => {
        const timeoutClient = createSalesforceClient(sfConfig(emulator.url), {
            logger: silentLogger(),
            metrics: createMetrics(),
            retry: { attempts: 1, baseMs: 1, maxMs: 1 },
            timeoutMs: 150
        });
        await timeoutClient.authorize();
        const w = createOutboxWorker({
            db,
            handlers: outboundJobHandlers({ haptik: noHaptik, salesforce: timeoutClient }),
            batchHandlers: outboundBatchHandlers({ salesforce: timeoutClient }),
            clock,
            logger: silentLogger(),
            random: () => 0.5,
            backoff: { baseMs: 1000, maxMs: 10_000 }
        });
        worker = w;

        // Timeouts: the first two answers come too late.
        emulator.failNext(2, { delayMs: 1000 });
        const round1 = await enqueueAll(Array.from({ length: 20 }, (_, i) => caseJob(`343:t-${i}:1`)));
        await w.drain();
        expect((await getOutboxJob(db, round1[0]!))!.lastErrorCode).toBe('bridge_salesforce_timeout');
        for (let i = 0; i < 10 && (await outboxDepth(db)).pending > 0; i++) {
            clock.advance(10_000);
            await w.drain();
        }

        // Token expiry: the client re-authorizes and the call goes through.
        const tokensBefore = emulator.tokensIssued;
        emulator.expireTokens();
        await enqueueAll(Array.from({ length: 20 }, (_, i) => caseJob(`343:t-${i}:1`, { Description: 'updated' })));
        await w.drain();
        expect(emulator.tokensIssued).toBe(tokensBefore + 1);

        // REQUEST_LIMIT_EXCEEDED: kept pending with backoff until the limit clears.
        emulator.limitExceeded(true);
        const round3 = await enqueueAll(Array.from({ length: 20 }, (_, i) => caseJob(`343:l-${i}:1`)));
        await w.drain();
        const limited = (await getOutboxJob(db, round3[0]!))!;
        expect(limited).toMatchObject({ state: 'pending', lastErrorCode: 'bridge_salesforce_limit_exceeded' });
        expect(limited.runAt!.getTime()).toBeGreaterThan(clock.now().getTime());
        emulator.limitExceeded(false);
        clock.advance(10_000);
        await w.drain();

        expect(await outboxDepth(db)).toEqual({ pending: 0, running: 0, dead: 0 });
        const cases = emulator.records('Case');
        expect(cases).toHaveLength(40);
        expect(new Set(cases.map((c) => c[KEY])).size).toBe(40);
        expect(cases.filter((c) => String(c[KEY]).startsWith('343:t-')).every((c) => c.Description === 'updated')).toBe(
            true
        );
    });
});
