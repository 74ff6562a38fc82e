/**
 * Fault: Salesforce answers 503 for a while (compressed here to ~2 s) during a burst of transcript Cases.
 * Expected: every Case is written once (0 lost, 0 duplicated) and the outbox drains once Salesforce is back.
 */
import { startSandbox } from '../emulators/sandbox';
import type { Sandbox } from '../emulators/sandbox';
import { reportFigures } from './figures';
import { completeConversations, waitUntilDrained } from './outbox-drain';

const CONVERSATIONS = 30;
const OUTAGE_MS = 2000;

describe('fault: Salesforce 503 during a burst of transcript Cases', () => {
    let sandbox: Sandbox;

    beforeAll(async () => {
        sandbox = await startSandbox({
            outbox: { pollIntervalMs: 50, backoff: { baseMs: 50, maxMs: 400 }, maxAttempts: 30 },
            salesforceTiming: { retry: { attempts: 2, baseMs: 20, maxMs: 50 } }
        });
    });
    afterAll(async () => {
        await sandbox.stop();
    });

    it('writes every Case once and drains after the outage', async () => {
        // Salesforce goes down (503 to every REST call) just as the burst arrives.
        sandbox.salesforce.failNext(100_000, { status: 503 });
        const started = Date.now();
        const users = Array.from({ length: CONVERSATIONS }, (_, i) => `burst-${i}`);
        const keys = users.map((userId) => `343:${userId}:1`);
        await completeConversations(sandbox, users);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, OUTAGE_MS - (Date.now() - started))));
        const refusedDuringOutage = sandbox.salesforce.apiCalls.total;
        // Salesforce is back.
        sandbox.salesforce.reset();

        const db = sandbox.bridge.db;
        await waitUntilDrained(db);
        const drainedMs = Date.now() - started;

        const cases = sandbox.salesforce.records('Case');
        const perKey = new Map<string, number>();
        for (const c of cases) {
            const key = String(c['Haptik_Conversation_Key__c']);
            perKey.set(key, (perKey.get(key) ?? 0) + 1);
        }
        const lost = keys.filter((key) => !perKey.has(key));
        const duplicated = [...perKey.values()].filter((n) => n > 1).length;
        expect(lost).toEqual([]);
        expect(duplicated).toBe(0);
        expect(cases).toHaveLength(CONVERSATIONS);
        expect(refusedDuringOutage).toBeGreaterThan(0);
        reportFigures('salesforce-503-burst', {
            conversations: CONVERSATIONS,
            outageMs: OUTAGE_MS,
            callsRefusedDuringOutage: refusedDuringOutage,
            lost: lost.length,
            duplicated,
            drainedAfterMs: drainedMs
        });
    });
});
