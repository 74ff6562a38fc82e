import { startSalesforceEmulator, generateTestKeyPair } from '../emulators/salesforce';
import type { SalesforceEmulator } from '../emulators/salesforce';
import { soqlString } from '../../bridge/src/salesforce/soql';
import { CLIENT_ID, CLIENT_SECRET, USERNAME, caught, clientFor, metricValue } from './helpers';

describe('Salesforce client against the emulator', () => {
    const keys = generateTestKeyPair();
    let emulator: SalesforceEmulator;

    beforeEach(async () => {
        emulator = await startSalesforceEmulator({
            clientId: CLIENT_ID,
            clientSecret: CLIENT_SECRET,
            username: USERNAME,
            jwtPublicKey: keys.publicKey,
            apiLimit: 5000
        });
    });
    afterEach(async () => {
        await emulator.close();
    });

    describe('authorization', () => {
        it('authorizes with client_credentials and caches the token', async () => {
            const { client } = clientFor(emulator);
            await client.authorize();
            await client.authorize();
            const { id } = await client.create('Case', { Subject: 'Hello' });
            expect(id).toMatch(/^500[a-zA-Z0-9]{15}$/);
            expect(emulator.tokensIssued).toBe(1);
        });

        it('authorizes with a JWT bearer assertion signed by the configured key', async () => {
            const { client } = clientFor(emulator, {
                auth: { kind: 'jwt', clientId: CLIENT_ID, username: USERNAME, privateKey: keys.privateKey }
            });
            emulator.insert('Contact', { LastName: 'Rao', Email: 'rao@example.com' });
            const rows = await client.query<{ Email: string }>(
                "SELECT Id, Email FROM Contact WHERE Email = 'RAO@example.com'"
            );
            expect(rows.map((r) => r.Email)).toEqual(['rao@example.com']);
            expect(emulator.tokensIssued).toBe(1);
        });

        it('reports a wrong client secret as bridge_salesforce_auth_failed without the secret', async () => {
            const { client } = clientFor(emulator, {
                auth: { kind: 'client_credentials', clientId: CLIENT_ID, clientSecret: 'wrong-secret-value' }
            });
            const error = await caught(client.authorize());
            expect(error.code).toBe('bridge_salesforce_auth_failed');
            expect(error.details.sfErrorCode).toBe('invalid_client');
            expect(error.details.retryable).toBe(false);
            expect(error.message).toContain('SF_CLIENT_SECRET');
            expect(error.message).not.toContain('wrong-secret-value');
            expect(emulator.tokensIssued).toBe(0);
        });

        it('reports a JWT signed with the wrong key as bridge_salesforce_auth_failed', async () => {
            const other = generateTestKeyPair();
            const { client } = clientFor(emulator, {
                auth: { kind: 'jwt', clientId: CLIENT_ID, username: USERNAME, privateKey: other.privateKey }
            });
            const error = await caught(client.query('SELECT Id FROM Case'));
            expect(error.code).toBe('bridge_salesforce_auth_failed');
            expect(error.details.sfErrorCode).toBe('invalid_grant');
            expect(error.message).toContain('certificate');
            expect(emulator.apiCalls.total).toBe(0);
        });

        it('re-authorizes exactly once after the token expires and the call succeeds', async () => {
            const { client } = clientFor(emulator);
            await client.create('Case', { Subject: 'first' });
            emulator.expireTokens();
            const { id } = await client.create('Case', { Subject: 'second' });
            expect(id).toMatch(/^500/);
            expect(emulator.tokensIssued).toBe(2);
            expect(emulator.records('Case').map((c) => c.Subject)).toEqual(['first', 'second']);
        });

        it('shares one token request among concurrent calls that hit an expired session', async () => {
            const { client } = clientFor(emulator);
            await client.authorize();
            emulator.expireTokens();
            const results = await Promise.all(
                [1, 2, 3, 4, 5].map((n) => client.query(`SELECT Id FROM Case WHERE Subject = ${soqlString(`s${n}`)}`))
            );
            expect(results).toHaveLength(5);
            expect(emulator.tokensIssued).toBe(2);
        });

        it('re-runs the JWT grant with a new assertion when the session expires', async () => {
            const { client } = clientFor(emulator, {
                auth: { kind: 'jwt', clientId: CLIENT_ID, username: USERNAME, privateKey: keys.privateKey }
            });
            await client.query('SELECT Id FROM Case');
            emulator.expireTokens();
            await client.query('SELECT Id FROM Case');
            expect(emulator.tokensIssued).toBe(2);
        });
    });

    describe('retries and typed errors', () => {
        it('retries 503 twice and then succeeds', async () => {
            const { client, metrics } = clientFor(emulator);
            await client.authorize();
            emulator.failNext(2, { status: 503 });
            const rows = await client.query('SELECT Id FROM Case');
            expect(rows).toEqual([]);
            expect(emulator.apiCalls.byKind.query).toBe(3);
            expect(await metricValue(metrics, 'bridge_salesforce_calls_total', { outcome: 'retry' })).toBe(2);
        });

        it('retries a create that Salesforce answered with 503 (nothing was saved)', async () => {
            const { client } = clientFor(emulator);
            await client.authorize();
            emulator.failNext(1, { status: 503 });
            await client.create('Case', { Subject: 'once' });
            expect(emulator.records('Case')).toHaveLength(1);
        });

        it('gives up on 503 forever with bridge_salesforce_unavailable', async () => {
            const { client } = clientFor(emulator);
            await client.authorize();
            emulator.failNext(50, { status: 503 });
            const error = await caught(client.query('SELECT Id FROM Case'));
            expect(error.code).toBe('bridge_salesforce_unavailable');
            expect(error.details).toMatchObject({ status: 503, sfErrorCode: 'SERVER_UNAVAILABLE', retryable: true });
            expect(emulator.apiCalls.byKind.query).toBe(4);
        });

        it('retries a query after a dropped connection', async () => {
            const { client } = clientFor(emulator);
            await client.authorize();
            emulator.failNext(1, { resetConnection: true });
            await expect(client.query('SELECT Id FROM Case')).resolves.toEqual([]);
            expect(emulator.apiCalls.byKind.query).toBe(2);
        });

        it('does not repeat a create whose connection dropped, and says the outcome is unknown', async () => {
            const { client } = clientFor(emulator);
            await client.authorize();
            emulator.failNext(1, { resetConnection: true });
            const error = await caught(client.create('Case', { Subject: 'maybe' }));
            expect(error.code).toBe('bridge_salesforce_unavailable');
            expect(error.details).toMatchObject({ outcomeUnknown: true, retryable: false });
            expect(emulator.apiCalls.byKind.create).toBe(1);
        });

        it('retries an idempotent call that timed out', async () => {
            const { client } = clientFor(emulator, { deps: { timeoutMs: 150 } });
            await client.authorize();
            emulator.failNext(1, { delayMs: 600 });
            await expect(client.query('SELECT Id FROM Case')).resolves.toEqual([]);
            expect(emulator.apiCalls.byKind.query).toBe(2);
        });

        it('raises REQUEST_LIMIT_EXCEEDED as bridge_salesforce_limit_exceeded without retrying', async () => {
            const { client } = clientFor(emulator);
            await client.authorize();
            emulator.limitExceeded(true);
            const error = await caught(client.query('SELECT Id FROM Case'));
            expect(error.code).toBe('bridge_salesforce_limit_exceeded');
            expect(error.details).toMatchObject({ sfErrorCode: 'REQUEST_LIMIT_EXCEEDED', status: 403 });
            expect(emulator.apiCalls.total).toBe(1);
        });

        it('raises a required field as a non-retryable api error naming the field', async () => {
            const { client } = clientFor(emulator);
            const error = await caught(client.create('Contact', { FirstName: 'Asha' }));
            expect(error.code).toBe('bridge_salesforce_api_error');
            expect(error.details).toMatchObject({
                sfErrorCode: 'REQUIRED_FIELD_MISSING',
                fields: ['LastName'],
                retryable: false,
                status: 400
            });
            expect(emulator.apiCalls.byKind.create).toBe(1);
        });

        it('raises a validation rule failure with its fields', async () => {
            const { client } = clientFor(emulator);
            emulator.failValidation('Case', {
                errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
                message: 'Origin must be Chat',
                fields: ['Origin']
            });
            const error = await caught(client.upsert('Case', 'Haptik_Event_Key__c', 'k1', { Subject: 'x' }));
            expect(error.details).toMatchObject({
                sfErrorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
                fields: ['Origin'],
                retryable: false
            });
            expect(error.message).toContain('Origin must be Chat');
        });

        it('raises STRING_TOO_LONG and INVALID_FIELD as api errors', async () => {
            const { client } = clientFor(emulator);
            const long = await caught(client.create('Case', { Subject: 'x'.repeat(256) }));
            expect(long.details).toMatchObject({ sfErrorCode: 'STRING_TOO_LONG', fields: ['Subject'] });
            const unknown = await caught(client.create('Case', { Bogus__c: 1 }));
            expect(unknown.details.sfErrorCode).toBe('INVALID_FIELD');
        });
    });

    describe('records', () => {
        it('upserts by external id: created, then updated', async () => {
            const { client } = clientFor(emulator);
            const key = '343:user/1:7';
            const first = await client.upsert('Case', 'Haptik_Conversation_Key__c', key, { Subject: 'v1' });
            const second = await client.upsert('Case', 'Haptik_Conversation_Key__c', key, { Subject: 'v2' });
            expect(first.created).toBe(true);
            expect(second).toEqual({ id: first.id, created: false });
            const cases = emulator.records('Case');
            expect(cases).toHaveLength(1);
            expect(cases[0]).toMatchObject({ Subject: 'v2', Haptik_Conversation_Key__c: key, CaseNumber: '00001001' });
        });

        it('updates and retrieves a record, and returns null for a missing one', async () => {
            const { client } = clientFor(emulator);
            const { id } = await client.create('Case', { Subject: 'before' });
            await client.update('Case', id, { Subject: 'after', Status: 'Working' });
            const record = await client.retrieve<{ Subject: string; Status: string }>('Case', id, [
                'Subject',
                'Status'
            ]);
            expect(record).toMatchObject({ Subject: 'after', Status: 'Working' });
            await expect(client.retrieve('Case', '500Hp000000zzzzAAA', ['Subject'])).resolves.toBeNull();
        });

        it('follows query pagination across batches', async () => {
            const { client } = clientFor(emulator);
            for (let i = 0; i < 7; i++) emulator.insert('Case', { Subject: `case ${i}`, Priority: 'High' });
            const rows = await client.query<{ Subject: string }>(
                "SELECT Subject FROM Case WHERE Priority = 'high' ORDER BY Subject",
                { batchSize: 3 }
            );
            expect(rows.map((r) => r.Subject)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `case ${i}`));
            expect(emulator.apiCalls.byKind).toMatchObject({ query: 1, queryMore: 2 });
        });

        it('records Sforce-Limit-Info into the metrics', async () => {
            const { client, metrics } = clientFor(emulator);
            await client.query('SELECT Id FROM Case');
            await client.query('SELECT Id FROM Case');
            expect(await metricValue(metrics, 'bridge_salesforce_api_usage')).toBe(2);
            expect(await metricValue(metrics, 'bridge_salesforce_api_limit')).toBe(5000);
            expect(client.apiUsage()).toEqual({ used: 2, limit: 5000 });
            expect(await metricValue(metrics, 'bridge_salesforce_calls_total', { outcome: 'ok' })).toBe(2);
        });

        it('returns searchRecords through the search extension point', async () => {
            await emulator.close();
            emulator = await startSalesforceEmulator({
                clientId: CLIENT_ID,
                clientSecret: CLIENT_SECRET,
                searchHandler: (sosl) => ({ searchRecords: [{ attributes: { type: 'Contact' }, Id: '003', sosl }] })
            });
            const { client } = clientFor(emulator);
            const rows = await client.search<{ sosl: string }>(
                'FIND {4155551212} IN PHONE FIELDS RETURNING Contact(Id)'
            );
            expect(rows.map((r) => r.sosl)).toEqual(['FIND {4155551212} IN PHONE FIELDS RETURNING Contact(Id)']);
        });
    });
});
