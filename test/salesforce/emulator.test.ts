import { startSalesforceEmulator, generateTestKeyPair } from '../emulators/salesforce';
import type { SalesforceEmulator } from '../emulators/salesforce';
import { createSign } from 'node:crypto';

const CLIENT_ID = 'cid';
const CLIENT_SECRET = 'csecret';

async function token(url: string, params: Record<string, string>): Promise<Response> {
    return fetch(`${url}/services/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(params).toString()
    });
}

function jwt(privateKey: string, claims: Record<string, unknown>): string {
    const part = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input = `${part({ alg: 'RS256' })}.${part(claims)}`;
    return `${input}.${createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url')}`;
}

describe('Salesforce emulator fidelity', () => {
    const keys = generateTestKeyPair();
    let emulator: SalesforceEmulator;
    let accessToken: string;
    const api = (path: string, init: RequestInit = {}): Promise<Response> =>
        fetch(`${emulator.url}/services/data/v64.0${path}`, {
            ...init,
            headers: {
                authorization: `Bearer ${accessToken}`,
                'content-type': 'application/json',
                ...(init.headers as Record<string, string> | undefined)
            }
        });

    beforeEach(async () => {
        emulator = await startSalesforceEmulator({
            clientId: CLIENT_ID,
            clientSecret: CLIENT_SECRET,
            username: 'u@x.example',
            jwtPublicKey: keys.publicKey,
            orgId: '00D000000000001AAA'
        });
        const res = await token(emulator.url, {
            grant_type: 'client_credentials',
            client_id: CLIENT_ID,
            client_secret: CLIENT_SECRET
        });
        accessToken = ((await res.json()) as { access_token: string }).access_token;
    });
    afterEach(async () => {
        await emulator.close();
    });

    it('issues client_credentials tokens shaped like Salesforce', async () => {
        const res = await token(emulator.url, {
            grant_type: 'client_credentials',
            client_id: CLIENT_ID,
            client_secret: CLIENT_SECRET
        });
        const body = (await res.json()) as Record<string, string>;
        expect(res.status).toBe(200);
        expect(body).toMatchObject({ instance_url: emulator.url, token_type: 'Bearer', scope: 'api' });
        expect(body.id).toMatch(new RegExp(`^${emulator.url}/id/00D000000000001AAA/005[A-Za-z0-9]{15}$`));
        expect(Object.keys(body).sort()).toEqual([
            'access_token',
            'id',
            'instance_url',
            'issued_at',
            'scope',
            'signature',
            'token_type'
        ]);
    });

    it('answers OAuth errors as {error, error_description}', async () => {
        const bad = await token(emulator.url, {
            grant_type: 'client_credentials',
            client_id: CLIENT_ID,
            client_secret: 'nope'
        });
        expect(bad.status).toBe(400);
        expect(await bad.json()).toEqual({ error: 'invalid_client', error_description: 'invalid client credentials' });
        const grant = await token(emulator.url, { grant_type: 'password' });
        expect(await grant.json()).toEqual({
            error: 'unsupported_grant_type',
            error_description: 'grant type not supported'
        });
    });

    it('checks the JWT audience, expiry and subject', async () => {
        const exp = Math.floor(Date.now() / 1000) + 180;
        const ok = await token(emulator.url, {
            grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
            assertion: jwt(keys.privateKey, {
                iss: CLIENT_ID,
                sub: 'u@x.example',
                aud: 'https://test.salesforce.com',
                exp
            })
        });
        expect(ok.status).toBe(200);
        const cases: Array<[Record<string, unknown>, string]> = [
            [{ iss: CLIENT_ID, sub: 'u@x.example', aud: 'https://evil.example', exp }, 'audience is invalid'],
            [{ iss: CLIENT_ID, sub: 'u@x.example', aud: emulator.url, exp: exp - 600 }, 'expired authorization code'],
            [{ iss: CLIENT_ID, sub: 'someone@else', aud: emulator.url, exp }, "user hasn't approved this consumer"]
        ];
        for (const [claims, description] of cases) {
            const res = await token(emulator.url, {
                grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
                assertion: jwt(keys.privateKey, claims)
            });
            expect(res.status).toBe(400);
            expect(await res.json()).toEqual({ error: 'invalid_grant', error_description: description });
        }
    });

    it('answers REST errors as arrays with documented status codes and Sforce-Limit-Info', async () => {
        const unknownField = await api('/sobjects/Case', { method: 'POST', body: JSON.stringify({ Bogus__c: 'x' }) });
        expect(unknownField.status).toBe(400);
        expect(unknownField.headers.get('sforce-limit-info')).toMatch(/^api-usage=\d+\/100000$/);
        expect(await unknownField.json()).toEqual([
            { message: "No such column 'Bogus__c' on sobject of type Case", errorCode: 'INVALID_FIELD', fields: [] }
        ]);

        const malformed = await api(`/query?q=${encodeURIComponent('SELEKT Id FROM Case')}`);
        expect(malformed.status).toBe(400);
        expect(((await malformed.json()) as Array<{ errorCode: string }>)[0]?.errorCode).toBe('MALFORMED_QUERY');

        const badType = await api(`/query?q=${encodeURIComponent('SELECT Id FROM Nope__c')}`);
        expect(((await badType.json()) as Array<{ errorCode: string }>)[0]?.errorCode).toBe('INVALID_TYPE');

        const missing = await api('/sobjects/Case/500000000000000AAA');
        expect(missing.status).toBe(404);
        expect(await missing.json()).toEqual([
            { message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }
        ]);

        const required = await api('/sobjects/Lead', { method: 'POST', body: JSON.stringify({ FirstName: 'A' }) });
        expect(await required.json()).toEqual([
            {
                message: 'Required fields are missing: [LastName, Company]',
                errorCode: 'REQUIRED_FIELD_MISSING',
                fields: ['LastName', 'Company']
            }
        ]);

        emulator.expireTokens();
        const expired = await api('/limits');
        expect(expired.status).toBe(401);
        expect(await expired.json()).toEqual([
            { message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }
        ]);
    });

    it('answers 403 REQUEST_LIMIT_EXCEEDED once the daily limit is used up', async () => {
        await emulator.close();
        emulator = await startSalesforceEmulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, apiLimit: 2 });
        const res = await token(emulator.url, {
            grant_type: 'client_credentials',
            client_id: CLIENT_ID,
            client_secret: CLIENT_SECRET
        });
        accessToken = ((await res.json()) as { access_token: string }).access_token;
        expect((await api('/limits')).status).toBe(200);
        const second = await api('/limits');
        expect(second.headers.get('sforce-limit-info')).toBe('api-usage=2/2');
        const third = await api('/limits');
        expect(third.status).toBe(403);
        expect(await third.json()).toEqual([
            { message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }
        ]);
    });

    it('creates Salesforce-shaped ids and case numbers, and answers 300 for an ambiguous upsert', async () => {
        const created = await api('/sobjects/Case', { method: 'POST', body: JSON.stringify({ Subject: 'a' }) });
        expect(created.status).toBe(201);
        const body = (await created.json()) as { id: string; success: boolean; errors: unknown[] };
        expect(body).toEqual({
            id: expect.stringMatching(/^500[A-Za-z0-9]{15}$/) as string,
            success: true,
            errors: []
        });
        const rows = (await (
            await api(
                `/query?q=${encodeURIComponent(`SELECT CaseNumber FROM Case WHERE Id = '${body.id.slice(0, 15)}'`)}`
            )
        ).json()) as { records: Array<{ CaseNumber: string; attributes: { type: string; url: string } }> };
        expect(rows.records[0]).toEqual({
            attributes: { type: 'Case', url: `/services/data/v64.0/sobjects/Case/${body.id}` },
            CaseNumber: '00001001'
        });

        emulator.insert('Case', { Haptik_Event_Key__c: 'dup' });
        emulator.insert('Case', { Haptik_Event_Key__c: 'DUP' });
        const ambiguous = await api('/sobjects/Case/Haptik_Event_Key__c/dup', {
            method: 'PATCH',
            body: JSON.stringify({ Subject: 'x' })
        });
        expect(ambiguous.status).toBe(300);
        const notExternal = await api('/sobjects/Case/Subject/dup', { method: 'PATCH', body: JSON.stringify({}) });
        expect(notExternal.status).toBe(404);
    });

    it('evaluates relationship fields, boolean logic, IN, ordering and COUNT()', async () => {
        const acme = emulator.insert('Account', { Name: 'Acme' });
        emulator.insert('Contact', { LastName: 'A', Email: 'a@x.example', AccountId: acme.Id });
        emulator.insert('Contact', { LastName: 'B', Email: 'b@x.example' });
        emulator.insert('Contact', { LastName: 'C', Email: null });
        const q = async (soql: string): Promise<{ totalSize: number; records: Array<Record<string, unknown>> }> =>
            (await (await api(`/query?q=${encodeURIComponent(soql)}`)).json()) as {
                totalSize: number;
                records: Array<Record<string, unknown>>;
            };
        const joined = await q("SELECT LastName, Account.Name FROM Contact WHERE Account.Name = 'ACME'");
        expect(joined.records).toEqual([
            {
                attributes: expect.any(Object) as unknown,
                LastName: 'A',
                Account: { attributes: expect.objectContaining({ type: 'Account' }) as unknown, Name: 'Acme' }
            }
        ]);
        const logic = await q(
            "SELECT LastName FROM Contact WHERE (Email = null OR LastName IN ('b')) AND NOT LastName = 'A' ORDER BY LastName DESC"
        );
        expect(logic.records.map((r) => r.LastName)).toEqual(['C', 'B']);
        const count = await q('SELECT COUNT() FROM Contact WHERE Email != null');
        expect(count).toMatchObject({ totalSize: 2, records: [] });
        const paged = await q('SELECT LastName FROM Contact ORDER BY LastName LIMIT 2 OFFSET 1');
        expect(paged.records.map((r) => r.LastName)).toEqual(['B', 'C']);
    });

    it('saves sObject Collections with per-record statusCode errors and allOrNone', async () => {
        const res = await api('/composite/sobjects', {
            method: 'POST',
            body: JSON.stringify({
                allOrNone: false,
                records: [
                    { attributes: { type: 'Case' }, Subject: 'ok' },
                    { attributes: { type: 'Contact' }, FirstName: 'no last name' }
                ]
            })
        });
        expect(res.status).toBe(200);
        const results = (await res.json()) as Array<Record<string, unknown>>;
        expect(results[0]).toMatchObject({ success: true, errors: [] });
        expect(results[1]).toEqual({
            success: false,
            errors: [
                {
                    statusCode: 'REQUIRED_FIELD_MISSING',
                    message: 'Required fields are missing: [LastName]',
                    fields: ['LastName']
                }
            ]
        });

        const rolledBack = (await (
            await api('/composite/sobjects', {
                method: 'POST',
                body: JSON.stringify({
                    allOrNone: true,
                    records: [{ attributes: { type: 'Case' }, Subject: 'no' }, { attributes: { type: 'Contact' } }]
                })
            })
        ).json()) as Array<{ errors: Array<{ statusCode: string }> }>;
        expect(rolledBack.map((r) => r.errors[0]?.statusCode)).toEqual([
            'ALL_OR_NONE_OPERATION_ROLLED_BACK',
            'REQUIRED_FIELD_MISSING'
        ]);
        expect(emulator.records('Case').map((c) => c.Subject)).toEqual(['ok']);
    });

    it('is drivable over HTTP under /__emulator/', async () => {
        const post = (path: string, body: unknown): Promise<Response> =>
            fetch(`${emulator.url}/__emulator/${path}`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify(body)
            });
        expect((await post('records/Contact', { LastName: 'Seeded' })).status).toBe(201);
        await post('fail-next', { count: 1, status: 503 });
        const failed = await api('/limits');
        expect(failed.status).toBe(503);
        expect(await failed.json()).toEqual([
            { message: 'Server is temporarily unavailable. Please try again later.', errorCode: 'SERVER_UNAVAILABLE' }
        ]);
        await post('limit-exceeded', { on: true });
        expect((await api('/limits')).status).toBe(403);
        await post('reset', {});
        expect((await api('/limits')).status).toBe(200);
        const state = (await (await fetch(`${emulator.url}/__emulator/state`)).json()) as {
            tokensIssued: number;
            apiCalls: { total: number };
        };
        expect(state).toMatchObject({ tokensIssued: 1, apiCalls: { total: 1 } });
        const records = (await (await fetch(`${emulator.url}/__emulator/records/Contact`)).json()) as Array<{
            LastName: string;
        }>;
        expect(records.map((r) => r.LastName)).toEqual(['Seeded']);
    });
});
