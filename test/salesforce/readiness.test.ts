import { salesforceReadiness } from '../../bridge/src/services/salesforce-readiness';
import { runCheck } from '../../bridge/src/http/health-routes';
import { startSalesforceEmulator } from '../emulators/salesforce';
import type { SalesforceEmulator } from '../emulators/salesforce';
import { ManualClock } from '../support/test-clock-and-log';
import { CLIENT_ID, CLIENT_SECRET, clientFor } from './helpers';

/**
 * /readyz is unauthenticated: it must not turn into token requests against Salesforce's login limits,
 * and it must tell the truth about the credential. It judges by the last real call; without one (or
 * when that is old) it makes one cheap call, and a failure is kept for a while.
 */
describe('Salesforce readiness', () => {
    let emulator: SalesforceEmulator;
    let clock: ManualClock;

    beforeEach(async () => {
        emulator = await startSalesforceEmulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
        clock = new ManualClock();
    });
    afterEach(async () => {
        await emulator.close();
    });

    const tokenRequests = (): number => emulator.requests.filter((r) => r.kind === 'token').length;

    function setUp(): { check: () => Promise<unknown>; client: ReturnType<typeof clientFor>['client'] } {
        const { client } = clientFor(emulator, { deps: { clock } });
        const readiness = { name: 'salesforce', check: salesforceReadiness(client, { clock }) };
        return { client, check: () => runCheck(readiness, 5000) };
    }

    it('asks for at most one token while the credential is refused, however often it is polled', async () => {
        emulator.setClientSecret('rotated-by-an-admin');
        const { check } = setUp();
        const answers = [];
        for (let i = 0; i < 20; i++) answers.push(await check());
        expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
        expect(answers[0]).toMatchObject({ code: 'bridge_salesforce_auth_failed' });
        expect(tokenRequests()).toBe(1);

        // Later it looks again, once.
        clock.advance(31_000);
        await check();
        await check();
        expect(tokenRequests()).toBe(2);
    });

    it('shares one probe among concurrent polls', async () => {
        const { check } = setUp();
        const answers = await Promise.all(Array.from({ length: 10 }, () => check()));
        expect(answers).toEqual(Array.from({ length: 10 }, () => 'ok'));
        expect(tokenRequests()).toBe(1);
        expect(emulator.requests.filter((r) => r.kind !== 'token')).toHaveLength(1);
    });

    it('reads ready from a recent successful call without calling Salesforce', async () => {
        const { client, check } = setUp();
        await client.query('SELECT Id FROM Case LIMIT 1');
        const before = emulator.requests.length;
        expect(await check()).toBe('ok');
        expect(await check()).toBe('ok');
        expect(emulator.requests).toHaveLength(before);
    });

    it('reads not ready as soon as a real call finds the credential revoked, though a token is cached', async () => {
        const { client, check } = setUp();
        await client.query('SELECT Id FROM Case LIMIT 1');
        expect(await check()).toBe('ok');

        emulator.expireTokens();
        emulator.setClientSecret('rotated-by-an-admin');
        await expect(client.query('SELECT Id FROM Case LIMIT 1')).rejects.toMatchObject({
            code: 'bridge_salesforce_auth_failed'
        });
        expect(await check()).toMatchObject({ code: 'bridge_salesforce_auth_failed' });
    });

    it('finds a credential revoked while idle once its last call is old', async () => {
        const { client, check } = setUp();
        await client.query('SELECT Id FROM Case LIMIT 1');
        emulator.expireTokens();
        emulator.setClientSecret('rotated-by-an-admin');
        expect(await check()).toBe('ok');

        clock.advance(61_000);
        expect(await check()).toMatchObject({ code: 'bridge_salesforce_auth_failed' });
    });

    it('takes a validation error as a working Salesforce (it answered)', async () => {
        const { client, check } = setUp();
        await expect(client.create('Case', { NoSuchField__c: 'x' })).rejects.toMatchObject({
            code: 'bridge_salesforce_api_error'
        });
        const before = emulator.requests.length;
        expect(await check()).toBe('ok');
        expect(emulator.requests).toHaveLength(before);
    });
});
