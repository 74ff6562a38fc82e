import { startSandbox } from '../emulators/sandbox';
import type { Sandbox } from '../emulators/sandbox';
import { webhookMessage } from '../emulators/haptik';
import { enqueueOutbound } from '../../bridge/src/services/outbound-jobs';
import { getInboundEvent } from '../../bridge/src/store/inbox';
import { listDeadJobs } from '../../bridge/src/store/outbox';
import { testDatabaseUrl, uniqueSchemaName, dropSchema } from '../support/databases';
import { textHsl } from '../../bridge/src/haptik/hsl';
import { eventually } from '../support/eventually';

/** The whole bridge, as an operator runs it, against both emulators over real sockets. */
const targets: Array<{ name: string; database: () => { url: string; schema: string } | undefined }> = [
    { name: 'embedded PGlite', database: () => undefined }
];
const url = testDatabaseUrl();
if (url !== undefined) targets.push({ name: 'PostgreSQL', database: () => ({ url, schema: uniqueSchemaName() }) });

describe.each(targets)('bridge on $name', (target) => {
    let sandbox: Sandbox;
    const database = target.database();

    beforeAll(async () => {
        sandbox = await startSandbox({
            ...(database ? { database } : {}),
            outbox: { pollIntervalMs: 50, backoff: { baseMs: 10, maxMs: 20 }, maxAttempts: 3 }
        });
    });

    afterAll(async () => {
        await sandbox.stop();
        if (database) await dropSchema(database.url, database.schema);
    });

    it('is live and ready: database reachable, Salesforce token obtained', async () => {
        const health = await fetch(`${sandbox.bridge.url}/healthz`);
        expect(health.status).toBe(200);
        const ready = await fetch(`${sandbox.bridge.url}/readyz`);
        expect(ready.status).toBe(200);
        expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', salesforce: 'ok' } });
        expect(sandbox.salesforce.tokensIssued).toBeGreaterThanOrEqual(1);
    });

    it('reports not ready, naming Salesforce, when the token cannot be obtained', async () => {
        const broken = await startSandbox({ env: { SF_CLIENT_SECRET: 'wrong-secret' } });
        try {
            const ready = await fetch(`${broken.bridge.url}/readyz`);
            expect(ready.status).toBe(503);
            const body = (await ready.json()) as { checks: Record<string, unknown> };
            expect(body.checks['database']).toBe('ok');
            expect(body.checks['salesforce']).toMatchObject({ code: 'bridge_salesforce_auth_failed' });
            expect(JSON.stringify(body)).not.toContain('wrong-secret');
        } finally {
            await broken.stop();
        }
    });

    it('stores a signed webhook before answering, and recognises its redelivery', async () => {
        const payload = webhookMessage({ userId: 'u-1', messageId: 9001, text: 'hello' });
        const first = await sandbox.send.webhook(payload);
        expect(first.status).toBe(200);
        expect(first.body).toEqual({ status: 'accepted' });
        const stored = await getInboundEvent(sandbox.bridge.db, 'haptik.webhook', 'webhook:message:9001');
        expect(stored?.payload).toMatchObject({
            event_name: 'message',
            message: { id: '9001', body: { text: 'hello' } }
        });

        const again = await sandbox.send.webhook(payload);
        expect(again.status).toBe(200);
        expect(again.body).toEqual({ status: 'duplicate' });
    });

    it('refuses an unsigned webhook and stores nothing', async () => {
        const payload = webhookMessage({ userId: 'u-2', messageId: 9002, text: 'hello' });
        const result = await sandbox.send.webhook(payload, { signature: null });
        expect(result.status).toBe(401);
        expect(result.body).toMatchObject({ error: { code: 'bridge_http_bad_signature' } });
        expect(await getInboundEvent(sandbox.bridge.db, 'haptik.webhook', 'webhook:message:9002')).toBeUndefined();
    });

    it('delivers outbox jobs to Haptik in order, once each, through a 503', async () => {
        sandbox.haptik.failNext(1, 503);
        await sandbox.bridge.db.transaction(async (tx) => {
            for (const n of [1, 2, 3]) {
                await enqueueOutbound(tx, 'haptik.message', {
                    orderingKey: 'haptik-user:u-3',
                    idempotencyKey: `test:u-3:${n}`,
                    payload: { userId: 'u-3', hsl: textHsl(`message ${n}`), metadata: { message_id: `m-${n}` } }
                });
            }
        });
        sandbox.bridge.outbox.notify();
        await sandbox.haptik.waitFor(
            (call) =>
                call.path === '/tract/message/send/' &&
                (call.body as { metadata?: { message_id?: string } }).metadata?.message_id === 'm-3' &&
                call.status === 200,
            10_000
        );
        expect(sandbox.haptik.messagesTo('u-3').map((m) => m.text)).toEqual(['message 1', 'message 2', 'message 3']);
        const sent = sandbox.haptik.calls.filter((c) => c.path === '/tract/message/send/');
        expect(sent[0]?.headers['client-id']).toBe(sandbox.config.haptik.clientId);
        // TRACT takes the token the bridge issued itself (HAPTIK_TRACT_*), not the Business Manager token.
        expect(sent[0]?.headers['authorization']).toMatch(/^Bearer eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
        expect(sent[0]?.headers['authorization']).not.toBe(`Bearer ${sandbox.config.haptik.apiToken}`);
        expect(sandbox.haptik.tractTokensIssued).toBe(1);
    });

    it('dead-letters a Salesforce write the API rejects and shows it on /metrics', async () => {
        await sandbox.bridge.db.transaction((tx) =>
            enqueueOutbound(tx, 'salesforce.upsert', {
                orderingKey: 'case:bad',
                idempotencyKey: 'test:bad-case',
                payload: {
                    type: 'Case',
                    externalIdField: 'Haptik_Conversation_Key__c',
                    externalId: '343:u-4:1',
                    fields: { No_Such_Field__c: 'x' }
                }
            })
        );
        sandbox.bridge.outbox.notify();
        const dead = await eventually(async () => {
            const jobs = await listDeadJobs(sandbox.bridge.db);
            return jobs.find((job) => job.idempotencyKey === 'test:bad-case');
        });
        expect(dead.attempts).toBe(1);
        expect(dead.lastErrorCode).toBe('bridge_salesforce_api_error');
        expect(dead.lastError).toContain('No_Such_Field__c');
        const metrics = await (await fetch(`${sandbox.bridge.url}/metrics`)).text();
        expect(metrics).toMatch(/bridge_outbox_dead_letters_total\{kind="salesforce.upsert"\} 1/);
        expect(metrics).toContain('bridge_http_request_duration_seconds_bucket');
    });
});
