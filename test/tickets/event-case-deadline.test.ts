import { parseSettings } from '../../bridge/src/config/mapping-file';
import { hslToPlainText } from '../../bridge/src/haptik/hsl';
import { integrationRequest } from '../emulators/haptik/haptik-sender';
import { startSandbox } from '../emulators/sandbox';
import type { Sandbox } from '../emulators/sandbox';
import { eventually } from '../support/eventually';

/**
 * Haptik stops waiting for an integration URL after 30 s. However slow Salesforce is (the CRM lookup, the
 * Case write, reading the Case number), the case-event route answers within one deadline per request
 * (`cases.requestDeadlineMs`, here 2 s), saying the request is being worked on; the Case is still
 * written, once, and a replay gets its number.
 */
let sandbox: Sandbox;

beforeAll(async () => {
    sandbox = await startSandbox({
        mapping: { lookup: { personAccounts: 'off' }, cases: { awaitTimeoutMs: 1500, requestDeadlineMs: 2000 } },
        outbox: { pollIntervalMs: 50, backoff: { baseMs: 20, maxMs: 100 }, maxAttempts: 20 }
    });
});

afterAll(async () => {
    await sandbox.stop();
});

interface CaseAnswer {
    status: boolean;
    response: string[];
    user_details: Record<string, unknown>;
}

it('answers "still working" within the deadline while every Salesforce call stalls, then the Case lands once', async () => {
    const request = integrationRequest({
        userId: 'u-slow',
        node: 'slow_node',
        userDetails: { email: 'slow.sf@example.com' }
    });
    // The lookup's query, the Case upsert and the Case number read each take 6 s.
    sandbox.salesforce.failNext(3, { delayMs: 6000 });

    const started = performance.now();
    const result = await sandbox.send.caseEvent('service_request', request);
    const elapsedMs = performance.now() - started;

    expect(result.status).toBe(200);
    const answer = result.body as CaseAnswer;
    expect(answer.status).toBe(true);
    expect(answer.user_details).toEqual({ case_pending: 'true' });
    expect(answer.response.map((r) => hslToPlainText(r))).toEqual([
        'We have your request and will confirm its number shortly'
    ]);
    // Without a deadline this took the lookup's 8 s plus the job wait; the deadline is 2 s.
    expect(elapsedMs).toBeLessThan(5000);

    const stored = await eventually(
        () => sandbox.salesforce.records('Case').find((c) => c['Haptik_Event_Key__c'] === '343:u-slow:1:slow_node'),
        30_000
    );
    const replay = (await sandbox.send.caseEvent('service_request', request)).body as CaseAnswer;
    expect(replay.user_details).toEqual({ case_number: stored['CaseNumber'], case_id: stored['Id'] });
    expect(
        sandbox.salesforce.records('Case').filter((c) => c['Haptik_Event_Key__c'] === '343:u-slow:1:slow_node')
    ).toHaveLength(1);
});

it('refuses a deadline Haptik would not wait for, or one shorter than the job wait', () => {
    expect(() => parseSettings({ cases: { requestDeadlineMs: 30_000 } })).toThrow(/requestDeadlineMs/);
    expect(() => parseSettings({ cases: { requestDeadlineMs: 5000, awaitTimeoutMs: 8000 } })).toThrow(/awaitTimeoutMs/);
    expect(parseSettings({}).cases.requestDeadlineMs).toBe(25_000);
});
