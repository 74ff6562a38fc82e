import { startSandbox } from '../emulators/sandbox';
import type { Sandbox } from '../emulators/sandbox';
import { lookup } from '../lookup/helpers';

/** GET /readyz of a running bridge: no token request per poll, and a revoked credential reads not ready. */
describe('/readyz and Salesforce', () => {
    let sandbox: Sandbox | undefined;

    afterEach(async () => {
        await sandbox?.stop();
        sandbox = undefined;
    });

    const readyz = async (s: Sandbox): Promise<{ status: number; body: { checks: Record<string, unknown> } }> => {
        const response = await fetch(`${s.bridge.url}/readyz`);
        return { status: response.status, body: (await response.json()) as { checks: Record<string, unknown> } };
    };

    it('polled 20 times with a refused credential, asks Salesforce for a token once', async () => {
        sandbox = await startSandbox({ env: { SF_CLIENT_SECRET: 'wrong-secret' } });
        const tokenRequests = (): number => sandbox!.salesforce.requests.filter((r) => r.kind === 'token').length;
        const before = tokenRequests();
        for (let i = 0; i < 20; i++) {
            const answer = await readyz(sandbox);
            expect(answer.status).toBe(503);
            expect(answer.body.checks['salesforce']).toMatchObject({ code: 'bridge_salesforce_auth_failed' });
        }
        expect(tokenRequests() - before).toBeLessThanOrEqual(1);
    });

    it('reads not ready once a real call finds the credential revoked, although a token is cached', async () => {
        sandbox = await startSandbox({ mapping: { lookup: { personAccounts: 'off' } } });
        expect((await readyz(sandbox)).status).toBe(200);

        sandbox.salesforce.expireTokens();
        sandbox.salesforce.setClientSecret('rotated-by-an-admin');
        const answer = await lookup(sandbox, { userDetails: { email: 'revoked.check@example.com' } });
        expect(answer.user_details).toMatchObject({ crm_error: 'bridge_salesforce_auth_failed' });

        const ready = await readyz(sandbox);
        expect(ready.status).toBe(503);
        expect(ready.body.checks['salesforce']).toMatchObject({ code: 'bridge_salesforce_auth_failed' });
    });
});
