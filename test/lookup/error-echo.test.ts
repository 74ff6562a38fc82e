import { scrubSalesforceMessage } from '../../bridge/src/salesforce/record-results';
import { SANDBOX_CREDENTIALS, startSandbox } from '../emulators/sandbox';
import type { Sandbox } from '../emulators/sandbox';
import { captureLogger } from '../support/test-clock-and-log';
import { lookup } from './helpers';

/**
 * Suspected in issue 16: Salesforce echoes the query in INVALID_FIELD and MALFORMED_QUERY messages
 * ("\nSELECT … WHERE Email = 'asha@…'\n ^\nERROR at Row:1:Column:…"), and the bridge logged that message
 * as the lookup's `cause`, so the searched e-mail address reached the log. A mapped field the
 * integration user cannot see (FLS) or that does not exist gives exactly that error on every lookup.
 */
const EMAIL = 'echo.check@example.com';

let sandbox: Sandbox;
let log: ReturnType<typeof captureLogger>;

beforeAll(async () => {
    log = captureLogger();
    sandbox = await startSandbox({
        logger: log.logger,
        mapping: { lookup: { personAccounts: 'off', fields: { loyalty_tier: { Contact: 'Loyalty_Tier__c' } } } }
    });
});

afterAll(() => sandbox.stop());

async function accessToken(): Promise<string> {
    const response = await fetch(`${sandbox.salesforce.url}/services/oauth2/token`, {
        method: 'POST',
        body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: SANDBOX_CREDENTIALS.sfClientId,
            client_secret: SANDBOX_CREDENTIALS.sfClientSecret
        })
    });
    return ((await response.json()) as { access_token: string }).access_token;
}

it('Salesforce (the emulator, like the real API) echoes the query, e-mail included, in the error message', async () => {
    await lookup(sandbox, { userDetails: { email: EMAIL } });
    const failed = sandbox.salesforce.requests.find((r) => r.errorCode === 'INVALID_FIELD');
    expect(failed).toBeDefined();
    const answer = await fetch(
        `${sandbox.salesforce.url}/services/data/v64.0/query?q=${encodeURIComponent(
            `SELECT Id, Loyalty_Tier__c FROM Contact WHERE Email = '${EMAIL}'`
        )}`,
        { headers: { authorization: `Bearer ${await accessToken()}` } }
    );
    const body = (await answer.json()) as Array<{ message: string; errorCode: string }>;
    expect(body[0]?.errorCode).toBe('INVALID_FIELD');
    expect(body[0]?.message).toContain(EMAIL);
    expect(body[0]?.message).toMatch(
        /\nERROR at Row:1:Column:12\nNo such column 'Loyalty_Tier__c' on entity 'Contact'/
    );
});

it('logs the Salesforce error code and a message without the query, so the e-mail searched is not in the log', async () => {
    const answer = await lookup(sandbox, { userDetails: { email: `second.${EMAIL}` } });
    expect(answer.user_details).toEqual({ crm_found: 'false', crm_error: 'bridge_salesforce_api_error' });

    const failures = log.lines().filter((line) => line.msg === 'CRM lookup failed');
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(failures.at(-1)).toMatchObject({
        code: 'bridge_salesforce_api_error',
        sfErrorCode: 'INVALID_FIELD',
        cause: expect.stringContaining("No such column 'Loyalty_Tier__c' on entity 'Contact'") as string
    });
    expect(JSON.stringify(log.lines())).not.toContain(EMAIL);
});

describe('scrubSalesforceMessage', () => {
    it.each([
        [
            "\nSELECT Id FROM Contact WHERE Email = 'a@b.co'\n       ^\nERROR at Row:1:Column:8\nNo such column 'X__c' on entity 'Contact'.",
            "ERROR at Row:1:Column:8: No such column 'X__c' on entity 'Contact'."
        ],
        [
            "\nWHERE Email = 'a'b@c.co' LIMIT 5\n               ^\nERROR at Row:1:Column:52\nunexpected token: b@c.co",
            'ERROR at Row:1:Column:52: unexpected token: …'
        ],
        [
            'Subject: data value too large: Asha Rao card 4111... (max length=255)',
            'Subject: data value too large (max length=255)'
        ],
        ['Required fields are missing: [LastName]', 'Required fields are missing: [LastName]']
    ])('%j → %j', (message, scrubbed) => {
        expect(scrubSalesforceMessage(message)).toBe(scrubbed);
    });
});
