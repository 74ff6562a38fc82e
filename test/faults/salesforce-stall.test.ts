/**
 * Fault: Salesforce (or a proxy in front of it) sends the status line and headers, then stalls. jsforce's
 * own timeout stopped counting at the headers, so such a call never ended and its outbox slot and ordering
 * key were held for good. Expected: each exchange ends at its deadline (500 ms here), the call at the
 * call's deadline, the job is retried, and the later jobs of its key (the transcript file after the Case)
 * and of other keys go on.
 */
import { startSandbox } from '../emulators/sandbox';
import type { Sandbox } from '../emulators/sandbox';
import { eventually } from '../support/eventually';
import { reportFigures } from './figures';
import { completeConversations, waitUntilDrained } from './outbox-drain';

const STALL_WINDOW_MS = 1500;

describe('fault: Salesforce sends headers, then stalls', () => {
    let sandbox: Sandbox;

    beforeAll(async () => {
        sandbox = await startSandbox({
            outbox: { pollIntervalMs: 50, backoff: { baseMs: 50, maxMs: 300 }, maxAttempts: 30, leaseMs: 2000 },
            salesforceTiming: { timeoutMs: 500, deadlineMs: 1200, retry: { attempts: 2, baseMs: 20, maxMs: 50 } }
        });
    });
    afterAll(async () => {
        await sandbox.stop();
    });

    it('ends each stalled call at its deadline and lets the key’s later jobs and other keys go on', async () => {
        // A long conversation: its Case, then (same ordering key) the whole transcript as a file.
        sandbox.haptik.setChatHistory(
            'hu-stall-long',
            1,
            Array.from({ length: 300 }, (_, i) => ({
                text: `line ${i} ${'lorem ipsum dolor sit amet '.repeat(20)}`,
                sender: i % 2 === 0 ? 'user' : 'bot',
                at: new Date(Date.UTC(2026, 10, 25, 10, 0, i))
            }))
        );
        sandbox.salesforce.failNext(100_000, { stallAfterHeaders: true });
        const started = Date.now();
        await completeConversations(sandbox, ['stall-long', 'stall-other']);
        const db = sandbox.bridge.db;
        // Calls end at their deadline and the jobs go back to wait: nothing stays `running` on a stalled call.
        const timedOut = await eventually(async () => {
            const rows = await db.query<{ n: string }>(
                `SELECT count(*)::text AS n FROM outbox_jobs
                 WHERE last_error_code = 'bridge_salesforce_timeout' AND state = 'pending'`
            );
            return Number(rows.rows[0]!.n) > 0 ? Number(rows.rows[0]!.n) : undefined;
        }, 10_000);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, STALL_WINDOW_MS - (Date.now() - started))));
        const stalledExchanges = sandbox.salesforce.apiCalls.total;
        sandbox.salesforce.reset();

        await waitUntilDrained(db);
        const recoveredMs = Date.now() - started;

        const cases = sandbox.salesforce.records('Case');
        expect(cases.map((c) => c['Haptik_Conversation_Key__c']).sort()).toEqual([
            '343:stall-long:1',
            '343:stall-other:1'
        ]);
        const longCase = cases.find((c) => c['Haptik_Conversation_Key__c'] === '343:stall-long:1')!;
        const files = sandbox.salesforce
            .records('ContentVersion')
            .filter((v) => v['FirstPublishLocationId'] === longCase['Id']);
        expect(files).toHaveLength(1);
        reportFigures('salesforce-stall', {
            stallWindowMs: STALL_WINDOW_MS,
            exchangeDeadlineMs: 500,
            callDeadlineMs: 1200,
            stalledExchanges,
            jobsEndedByDeadline: timedOut,
            casesWritten: cases.length,
            filesAttached: files.length,
            drainedAfterMs: recoveredMs
        });
    });
});
