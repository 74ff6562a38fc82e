import { startSandbox, SANDBOX_CREDENTIALS } from '../emulators/sandbox';
import type { Sandbox } from '../emulators/sandbox';
import { lookup } from './helpers';

/**
 * The CRM is down, slow, out of API calls or refuses the bridge: the bot still gets an answer
 * (`status: false` and a `crm_error` code) within the lookup's budget, and the conversation goes on.
 * The mapping's short timeoutMs keeps the slow case short; nothing here measures time.
 */
describe('customer lookup when Salesforce fails', () => {
    let sandbox: Sandbox;
    let n = 0;
    /** A fresh phone number and its contact per test, so no answer comes from the cache. */
    const freshContact = (): { phone: string; id: string } => {
        n += 1;
        const phone = `(415) 555-${String(2000 + n)}`;
        return {
            phone,
            id: String(sandbox.salesforce.insert('Contact', { LastName: `Outage ${n}`, Phone: phone }).Id)
        };
    };
    const failed = (code: string) => ({
        status: false,
        response: [],
        conversation_details: {},
        user_details: { crm_found: 'false', crm_error: code }
    });

    beforeAll(async () => {
        sandbox = await startSandbox({ mapping: { lookup: { personAccounts: 'off', timeoutMs: 3000 } } });
    });

    afterEach(() => {
        sandbox.salesforce.reset();
        sandbox.salesforce.setClientSecret(SANDBOX_CREDENTIALS.sfClientSecret);
    });

    afterAll(() => sandbox.stop());

    it('answers bridge_salesforce_unavailable when Salesforce keeps answering 503 beyond the retries, and recovers', async () => {
        const { phone, id } = freshContact();
        sandbox.salesforce.failNext(10, { status: 503 });
        expect(await lookup(sandbox, { userDetails: { phone } })).toEqual(failed('bridge_salesforce_unavailable'));
        expect(sandbox.salesforce.requests.filter((r) => r.status === 503).length).toBeGreaterThan(1);

        sandbox.salesforce.reset();
        // Failures are not cached: the next lookup asks Salesforce again.
        const answer = await lookup(sandbox, { userDetails: { phone } });
        expect(answer.user_details).toMatchObject({ crm_found: 'true', crm_id: id });
    });

    it('rides out a single 503 with a retry', async () => {
        const { phone, id } = freshContact();
        sandbox.salesforce.failNext(1, { status: 503 });
        const answer = await lookup(sandbox, { userDetails: { phone } });
        expect(answer.user_details).toMatchObject({ crm_found: 'true', crm_id: id });
    });

    it('answers bridge_salesforce_limit_exceeded when the org is out of API requests', async () => {
        const { phone } = freshContact();
        sandbox.salesforce.limitExceeded(true);
        expect(await lookup(sandbox, { userDetails: { phone } })).toEqual(failed('bridge_salesforce_limit_exceeded'));
        expect(sandbox.salesforce.requests.map((r) => r.errorCode)).toContain('REQUEST_LIMIT_EXCEEDED');
    });

    it('re-authorizes transparently when the token expired', async () => {
        const { phone, id } = freshContact();
        const tokens = sandbox.salesforce.tokensIssued;
        sandbox.salesforce.expireTokens();
        const answer = await lookup(sandbox, { userDetails: { phone } });
        expect(answer.user_details).toMatchObject({ crm_found: 'true', crm_id: id });
        expect(sandbox.salesforce.tokensIssued).toBe(tokens + 1);
    });

    it('answers bridge_salesforce_auth_failed when the token expired and the credentials no longer work', async () => {
        const { phone } = freshContact();
        sandbox.salesforce.setClientSecret('rotated-by-an-admin');
        sandbox.salesforce.expireTokens();
        expect(await lookup(sandbox, { userDetails: { phone } })).toEqual(failed('bridge_salesforce_auth_failed'));
    });

    it('answers bridge_crm_timeout when Salesforce is slower than the lookup budget', async () => {
        const { phone } = freshContact();
        sandbox.salesforce.failNext(1, { delayMs: 4500 });
        expect(await lookup(sandbox, { userDetails: { phone } })).toEqual(failed('bridge_crm_timeout'));
    });
});
