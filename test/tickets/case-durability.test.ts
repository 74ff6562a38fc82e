import { Writable } from 'node:stream';
import { webhookConversationComplete } from '../emulators/haptik/haptik-sender';
import { startSandbox } from '../emulators/sandbox';
import type { Sandbox } from '../emulators/sandbox';
import { createLogger } from '../../bridge/src/observability/logger';
import { listDeadJobs } from '../../bridge/src/store/outbox';
import { eventually } from '../support/eventually';

/** Transcript Cases through outages: nothing lost, nothing duplicated, a rejected Case blocks no other. */
let sandbox: Sandbox;
const logLines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
    const destination = new Writable({
        write(chunk: Buffer, _encoding, done) {
            for (const line of chunk.toString('utf8').split('\n')) {
                if (line.trim() !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
            }
            done();
        }
    });
    sandbox = await startSandbox({
        logger: createLogger({ level: 'info', destination }),
        outbox: { pollIntervalMs: 50, backoff: { baseMs: 20, maxMs: 200 }, maxAttempts: 30 }
    });
});

afterAll(async () => {
    await sandbox.stop();
});

function casesOf(userId: string): number {
    return sandbox.salesforce.records('Case').filter((c) => c['Haptik_User_Id__c'] === userId).length;
}

async function complete(userId: string, conversationNo: number): Promise<void> {
    sandbox.haptik.setChatHistory(`hu-${userId}`, conversationNo, [
        { text: `Hello from ${userId}`, sender: 'user', at: new Date(Date.UTC(2026, 10, 25, 9, 0, 0)) }
    ]);
    const result = await sandbox.send.webhook(
        webhookConversationComplete({ userId, userName: `hu-${userId}`, conversationNo })
    );
    expect(result.status).toBe(200);
}

it('retries through Salesforce 503s and Haptik 503s and ends with exactly one Case per conversation', async () => {
    sandbox.haptik.failNext(3, 503);
    // Each Case write attempt meets several 503s (the client retries inside an attempt, the outbox between).
    sandbox.salesforce.failNext(30, { status: 503 });
    const users = ['o-1', 'o-2', 'o-3', 'o-4', 'o-5'];
    for (const user of users) await complete(user, 1);
    // Haptik redelivers during the outage: the same events again.
    for (const user of users) await complete(user, 1);

    await eventually(() => (users.every((u) => casesOf(u) === 1) ? true : undefined), 60_000);
    const failed503 = sandbox.salesforce.requests.filter((r) => r.status === 503).length;
    expect(failed503).toBe(30);
    expect(sandbox.haptik.calls.filter((c) => c.status === 503)).toHaveLength(3);
    await sandbox.bridge.outbox.drain();
    for (const user of users) expect(casesOf(user)).toBe(1);
    expect(await listDeadJobs(sandbox.bridge.db)).toEqual([]);
}, 90_000);

it('dead-letters a Case Salesforce rejects, logging the field, while other Cases proceed', async () => {
    sandbox.salesforce.failValidation('Case', {
        errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
        message: 'Subject may not be empty for chat Cases',
        fields: ['Subject'],
        times: 1
    });
    await complete('v-bad', 1);
    const dead = await eventually(async () => (await listDeadJobs(sandbox.bridge.db))[0]);
    expect(dead.kind).toBe('salesforce.upsert');
    expect(dead.lastError).toContain('Subject');
    expect(casesOf('v-bad')).toBe(0);

    const line = logLines.find((l) => l['msg'] === 'outbox job dead-lettered' && l['jobId'] === dead.id);
    expect(line).toBeDefined();
    expect(String(line?.['errorMessage'])).toContain('Subject');
    expect(JSON.stringify(line)).toContain('FIELD_CUSTOM_VALIDATION_EXCEPTION');

    for (const user of ['v-ok-1', 'v-ok-2']) await complete(user, 1);
    await eventually(() => (casesOf('v-ok-1') === 1 && casesOf('v-ok-2') === 1 ? true : undefined));
    expect(await listDeadJobs(sandbox.bridge.db)).toHaveLength(1);
});
