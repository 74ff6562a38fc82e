import { BridgeError } from '../../bridge/src/core/errors';
import type { AdminPort } from '../../bridge/src/http/app';
import { createHaptikSender, webhookMessage } from '../emulators/haptik/haptik-sender';
import { startTestBridge, TEST_SECRET } from './harness';
import type { TestBridge } from './harness';

const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

describe('operator routes', () => {
    describe('health, readiness and metrics', () => {
        let bridge: TestBridge;
        let databaseUp = true;
        let salesforceFailure: Error | undefined;

        beforeAll(async () => {
            bridge = await startTestBridge({
                readiness: [
                    {
                        name: 'database',
                        check: () =>
                            databaseUp
                                ? Promise.resolve()
                                : Promise.reject(
                                      new Error('connect ECONNREFUSED postgres://bridge:hunter2@127.0.0.1:5432/db')
                                  )
                    },
                    {
                        name: 'salesforce',
                        check: () => (salesforceFailure ? Promise.reject(salesforceFailure) : Promise.resolve())
                    }
                ],
                readinessTimeoutMs: 2000,
                haptik: { webhook: () => Promise.resolve({ status: 200, body: { ok: true } }) }
            });
        });

        afterAll(async () => {
            await bridge.close();
        });

        beforeEach(() => {
            databaseUp = true;
            salesforceFailure = undefined;
        });

        it('answers /healthz with 200 {status: ok}', async () => {
            const response = await fetch(`${bridge.url}/healthz`);

            expect(response.status).toBe(200);
            expect(await response.json()).toEqual({ status: 'ok' });
        });

        it('answers /readyz with 200 when every check passes', async () => {
            const response = await fetch(`${bridge.url}/readyz`);

            expect(response.status).toBe(200);
            expect(await response.json()).toEqual({ status: 'ready', checks: { database: 'ok', salesforce: 'ok' } });
        });

        it('answers /readyz with 503 naming the failed check, its code and message, without secrets', async () => {
            databaseUp = false;
            salesforceFailure = new BridgeError(
                'bridge_salesforce_auth_failed',
                'Salesforce refused the client credentials'
            );

            const response = await fetch(`${bridge.url}/readyz`);
            const body = (await response.json()) as { status: string; checks: Record<string, unknown> };

            expect(response.status).toBe(503);
            expect(body.status).toBe('not_ready');
            expect(body.checks.salesforce).toEqual({
                code: 'bridge_salesforce_auth_failed',
                message: 'Salesforce refused the client credentials'
            });
            expect(body.checks.database).toEqual({
                code: 'bridge_ready_check_failed',
                message: expect.stringContaining('ECONNREFUSED') as unknown
            });
            expect(JSON.stringify(body)).not.toContain('hunter2');
        });

        it('serves Prometheus text on /metrics with the http histogram labelled by route pattern', async () => {
            const sender = createHaptikSender(bridge.url, { secret: TEST_SECRET });
            await sender.webhook(webhookMessage());

            const response = await fetch(`${bridge.url}/metrics`);
            const text = await response.text();

            expect(response.status).toBe(200);
            expect(response.headers.get('content-type')).toContain('text/plain');
            expect(text).toContain('bridge_http_request_duration_seconds_bucket');
            expect(text).toMatch(
                /bridge_http_request_duration_seconds_count\{method="POST",route="\/haptik\/webhook",status="200"\} 1/
            );
        });
    });

    describe('readiness timeout', () => {
        it('reports a check that never answers as timed out', async () => {
            const bridge = await startTestBridge({
                readiness: [{ name: 'stuck', check: () => new Promise<void>(() => undefined) }],
                readinessTimeoutMs: 50
            });
            try {
                const response = await fetch(`${bridge.url}/readyz`);

                expect(response.status).toBe(503);
                expect(await response.json()).toEqual({
                    status: 'not_ready',
                    checks: { stuck: { code: 'bridge_ready_timeout', message: 'stuck did not answer within 50 ms' } }
                });
            } finally {
                await bridge.close();
            }
        });
    });

    describe('admin', () => {
        const retried: string[] = [];
        const admin: AdminPort = {
            listDead: (limit) => Promise.resolve([{ id: 'job-1', kind: 'haptik.message', limit }]),
            retryDead: (id) => {
                retried.push(id);
                return Promise.resolve(id === 'job-1');
            },
            retryAllDead: () => Promise.resolve(3)
        };

        it('has no admin routes when no token is configured', async () => {
            const bridge = await startTestBridge({ admin });
            try {
                const response = await fetch(`${bridge.url}/admin/outbox/dead`, {
                    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` }
                });

                expect(response.status).toBe(404);
            } finally {
                await bridge.close();
            }
        });

        describe('with a token', () => {
            let bridge: TestBridge;

            beforeAll(async () => {
                bridge = await startTestBridge({ adminToken: ADMIN_TOKEN, admin });
            });

            afterAll(async () => {
                await bridge.close();
            });

            it.each([
                ['no', undefined],
                ['a wrong', 'Bearer admin-token-0123456789abcdeX'],
                ['a shorter', 'Bearer admin'],
                ['a non-bearer', `Basic ${ADMIN_TOKEN}`]
            ])('answers 401 with %s token', async (_label, authorization) => {
                const response = await fetch(`${bridge.url}/admin/outbox/dead`, {
                    headers: authorization === undefined ? {} : { Authorization: authorization }
                });

                expect(response.status).toBe(401);
                expect(response.headers.get('www-authenticate')).toBe('Bearer');
                expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
                    'bridge_http_unauthorized'
                );
            });

            it('lists dead jobs with the requested limit', async () => {
                const response = await fetch(`${bridge.url}/admin/outbox/dead?limit=5`, {
                    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` }
                });

                expect(response.status).toBe(200);
                expect(await response.json()).toEqual({
                    items: [{ id: 'job-1', kind: 'haptik.message', limit: 5 }],
                    limit: 5
                });
            });

            it('rejects a limit that is not a whole number in range', async () => {
                const response = await fetch(`${bridge.url}/admin/outbox/dead?limit=-3`, {
                    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` }
                });

                expect(response.status).toBe(400);
            });

            it('retries one dead job, and answers 404 for an unknown one', async () => {
                const headers = { Authorization: `Bearer ${ADMIN_TOKEN}` };
                const ok = await fetch(`${bridge.url}/admin/outbox/dead/job-1/retry`, { method: 'POST', headers });
                const unknown = await fetch(`${bridge.url}/admin/outbox/dead/job-404/retry`, {
                    method: 'POST',
                    headers
                });

                expect(ok.status).toBe(200);
                expect(await ok.json()).toEqual({ retried: true, id: 'job-1' });
                expect(unknown.status).toBe(404);
                expect(retried).toEqual(['job-1', 'job-404']);
            });

            it('retries all dead jobs', async () => {
                const response = await fetch(`${bridge.url}/admin/outbox/dead/retry-all`, {
                    method: 'POST',
                    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` }
                });

                expect(response.status).toBe(200);
                expect(await response.json()).toEqual({ retried: 3 });
            });
        });
    });
});
