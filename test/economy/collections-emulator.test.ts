/**
 * The Salesforce emulator's sObject Collections, uniqueness, length limits and files, driven through
 * the bridge's real client (upsertMany, createContentVersion) and raw REST where the shape matters.
 */
import { isSalesforceError } from '../../bridge/src/salesforce/salesforce-client';
import type { SalesforceClient } from '../../bridge/src/salesforce/salesforce-client';
import { startSalesforceEmulator } from '../emulators/salesforce';
import type { SalesforceEmulator } from '../emulators/salesforce';
import { CLIENT_ID, CLIENT_SECRET, clientFor } from '../salesforce/helpers';

const KEY = 'Haptik_Conversation_Key__c';

describe('Salesforce emulator: collections, uniqueness, limits and files', () => {
    let emulator: SalesforceEmulator;
    let client: SalesforceClient;

    beforeEach(async () => {
        emulator = await startSalesforceEmulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
        client = clientFor(emulator).client;
        await client.authorize();
        emulator.reset();
    });

    afterEach(async () => {
        await emulator.close();
    });

    async function rest(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
        const token = await fetch(`${emulator.url}/services/oauth2/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({
                grant_type: 'client_credentials',
                client_id: CLIENT_ID,
                client_secret: CLIENT_SECRET
            }).toString()
        });
        const { access_token: accessToken } = (await token.json()) as { access_token: string };
        const res = await fetch(`${emulator.url}/services/data/v64.0${path}`, {
            method,
            headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
            ...(body === undefined ? {} : { body: JSON.stringify(body) })
        });
        const text = await res.text();
        return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
    }

    it('upserts a collection by external id in one API call: created, then updated', async () => {
        const first = await client.upsertMany('Case', KEY, [
            { [KEY]: 'b:u1:1', Subject: 'one' },
            { [KEY]: 'b:u2:1', Subject: 'two' }
        ]);
        expect(first.map((r) => r.ok && r.created)).toEqual([true, true]);
        const second = await client.upsertMany('Case', KEY, [
            { [KEY]: 'b:u1:1', Subject: 'one, again' },
            { [KEY]: 'b:u3:1', Subject: 'three' }
        ]);
        expect(second.map((r) => r.ok && r.created)).toEqual([false, true]);
        expect(second[0]).toEqual({ ok: true, id: first[0]!.ok ? first[0]!.id : '', created: false });
        const cases = emulator.records('Case');
        expect(cases).toHaveLength(3);
        expect(cases.find((c) => c[KEY] === 'b:u1:1')?.Subject).toBe('one, again');
        expect(emulator.apiCalls.byKind).toEqual({ composite: 2 });
        expect(emulator.apiCalls.total).toBe(2);
    });

    it('splits more than 200 records into calls of at most 200', async () => {
        const records = Array.from({ length: 450 }, (_, i) => ({ [KEY]: `b:bulk:${i}`, Subject: `case ${i}` }));
        const results = await client.upsertMany('Case', KEY, records);
        expect(results.filter((r) => r.ok && r.created)).toHaveLength(450);
        expect(emulator.apiCalls.total).toBe(3);
        expect(emulator.records('Case')).toHaveLength(450);
    });

    it('answers per-record errors with statusCode and fields, and saves the others', async () => {
        const { status, body } = await rest('PATCH', `/composite/sobjects/Case/${KEY}`, {
            allOrNone: false,
            records: [
                { attributes: { type: 'Case' }, [KEY]: 'k-ok', Subject: 'fine' },
                { attributes: { type: 'Case' }, [KEY]: 'k-long', Subject: 'x'.repeat(256) },
                { attributes: { type: 'Case' }, [KEY]: 'k-bad', Bogus__c: 1 }
            ]
        });
        expect(status).toBe(200);
        const results = body as Array<Record<string, unknown>>;
        expect(results[0]).toMatchObject({ success: true, created: true, errors: [] });
        expect(results[1]).toMatchObject({
            success: false,
            errors: [{ statusCode: 'STRING_TOO_LONG', fields: ['Subject'] }]
        });
        expect(results[2]).toMatchObject({ success: false, errors: [{ statusCode: 'INVALID_FIELD' }] });
        expect(emulator.records('Case').map((c) => c[KEY])).toEqual(['k-ok']);
    });

    it('rolls every record back with allOrNone when one fails', async () => {
        const results = await client.upsertMany(
            'Case',
            KEY,
            [
                { [KEY]: 'all-1', Subject: 'fine' },
                { [KEY]: 'all-2', SuppliedPhone: '9'.repeat(41) }
            ],
            { allOrNone: true }
        );
        expect(results[0]).toMatchObject({ ok: false });
        expect(results[0]!.ok ? '' : results[0]!.error.details.sfErrorCode).toBe('ALL_OR_NONE_OPERATION_ROLLED_BACK');
        expect(results[1]!.ok ? [] : results[1]!.error.details.fields).toEqual(['SuppliedPhone']);
        expect(emulator.records('Case')).toHaveLength(0);
    });

    it('maps per-record errors to SalesforceErrors naming the fields; retryable only for lock errors', async () => {
        emulator.failValidation('Case', {
            errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
            message: 'Origin must be Chat',
            fields: ['Origin'],
            match: { Subject: 'invalid' }
        });
        const results = await client.upsertMany('Case', KEY, [
            { [KEY]: 'v-1', Subject: 'valid' },
            { [KEY]: 'v-2', Subject: 'invalid' }
        ]);
        expect(results[0]).toMatchObject({ ok: true, created: true });
        const failed = results[1]!;
        if (failed.ok) throw new Error('expected a failure');
        expect(isSalesforceError(failed.error, 'bridge_salesforce_api_error')).toBe(true);
        expect(failed.error.details).toMatchObject({
            sfErrorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
            fields: ['Origin'],
            retryable: false
        });
        expect(failed.error.message).toContain('Origin must be Chat');
    });

    it('applies validation-rule injection to composite creates too, with statusCode errors', async () => {
        emulator.failValidation('Case', {
            errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
            message: 'No Case without a Subject',
            fields: ['Subject'],
            times: 1
        });
        const { status, body } = await rest('POST', '/composite/sobjects', {
            allOrNone: false,
            records: [
                { attributes: { type: 'Case' }, Subject: 'first' },
                { attributes: { type: 'Case' }, Subject: 'second' }
            ]
        });
        expect(status).toBe(200);
        expect(body).toEqual([
            {
                success: false,
                errors: [
                    {
                        statusCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
                        message: 'No Case without a Subject',
                        fields: ['Subject']
                    }
                ]
            },
            { id: expect.stringMatching(/^500/) as unknown, success: true, errors: [] }
        ]);
    });

    it('keeps external ids unique: DUPLICATE_VALUE with Salesforce message', async () => {
        const [a] = await client.upsertMany('Case', KEY, [{ [KEY]: 'dup-a', Haptik_Event_Key__c: 'event-1' }]);
        const other = await client.create('Case', { Subject: 'other' });
        const error = await client.update('Case', other.id, { Haptik_Event_Key__c: 'EVENT-1' }).then(
            () => undefined,
            (e: unknown) => e
        );
        const id = a!.ok ? a!.id : '';
        expect(isSalesforceError(error)).toBe(true);
        expect((error as Error).message).toContain(
            `duplicate value found: Haptik_Event_Key__c duplicates value on record with id: ${id}`
        );
        const viaCollection = await client.upsertMany('Case', KEY, [
            { [KEY]: 'dup-b', Haptik_Event_Key__c: 'event-1' }
        ]);
        expect(viaCollection[0]!.ok ? '' : viaCollection[0]!.error.details.sfErrorCode).toBe('DUPLICATE_VALUE');
        const created = await rest('POST', '/sobjects/Case', { Subject: 'x', [KEY]: 'dup-a' });
        expect(created.status).toBe(400);
        expect(created.body).toEqual([
            {
                message: `duplicate value found: ${KEY} duplicates value on record with id: ${id}`,
                errorCode: 'DUPLICATE_VALUE',
                fields: []
            }
        ]);
        // Updating a record with its own value is no duplicate.
        await expect(
            client.update('Case', id, { Haptik_Event_Key__c: 'event-1', Subject: 's' })
        ).resolves.toBeUndefined();
    });

    it('enforces the field lengths of the Case fields', async () => {
        const ok = await client.upsertMany('Case', KEY, [
            {
                [KEY]: 'len-ok',
                Subject: 's'.repeat(255),
                Description: 'd'.repeat(32000),
                Haptik_Transcript__c: 't'.repeat(131072),
                Haptik_Bot_Context__c: 'c'.repeat(131072),
                SuppliedName: 'n'.repeat(80),
                SuppliedEmail: 'e'.repeat(80),
                SuppliedPhone: '1'.repeat(40)
            }
        ]);
        expect(ok[0]).toMatchObject({ ok: true });
        const tooLong: Array<[string, number]> = [
            ['Subject', 256],
            ['Description', 32001],
            ['Haptik_Transcript__c', 131073],
            ['Haptik_Bot_Context__c', 131073],
            ['SuppliedName', 81],
            ['SuppliedEmail', 81],
            ['SuppliedPhone', 41],
            ['Haptik_User_Id__c', 256]
        ];
        const results = await client.upsertMany(
            'Case',
            KEY,
            tooLong.map(([field, length], i) => ({ [KEY]: `len-${i}`, [field]: 'x'.repeat(length) }))
        );
        expect(
            results.map((r) => (r.ok ? 'ok' : `${r.error.details.sfErrorCode}:${r.error.details.fields.join()}`))
        ).toEqual(tooLong.map(([field]) => `STRING_TOO_LONG:${field}`));
    });

    it('stores a ContentVersion with its ContentDocument and a queryable ContentDocumentLink', async () => {
        const [c] = await client.upsertMany('Case', KEY, [{ [KEY]: 'file-case', Subject: 'with a file' }]);
        const caseId = c!.ok ? c!.id : '';
        const text = 'Transcript — ünïcödé\n'.repeat(10_000);
        const file = await client.createContentVersion({
            title: 'Transcript',
            pathOnClient: 'transcript.txt',
            text,
            firstPublishLocationId: caseId
        });
        expect(file.id).toMatch(/^068/);
        expect(file.contentDocumentId).toMatch(/^069/);
        const stored = emulator.records('ContentVersion')[0]!;
        expect(Buffer.from(String(stored.VersionData), 'base64').toString('utf8')).toBe(text);
        const links = await client.query<{ ContentDocumentId: string; LinkedEntityId: string }>(
            `SELECT ContentDocumentId, LinkedEntityId FROM ContentDocumentLink WHERE LinkedEntityId = '${caseId}'`
        );
        expect(links).toEqual([
            expect.objectContaining({ ContentDocumentId: file.contentDocumentId, LinkedEntityId: caseId })
        ]);
        const versions = await client.query<{ Id: string }>(
            `SELECT Id FROM ContentVersion WHERE FirstPublishLocationId = '${caseId}' AND PathOnClient = 'transcript.txt'`
        );
        expect(versions.map((v) => v.Id)).toEqual([file.id]);
        const missing = await rest('POST', '/sobjects/ContentVersion', { Title: 'no data', PathOnClient: 'a.txt' });
        expect(missing).toEqual({
            status: 400,
            body: [
                {
                    message: 'Required fields are missing: [VersionData]',
                    errorCode: 'REQUIRED_FIELD_MISSING',
                    fields: ['VersionData']
                }
            ]
        });
    });

    it('rejects an unknown external id field and more than 200 records as whole calls', async () => {
        const unknown = await rest('PATCH', '/composite/sobjects/Case/Subject', { records: [] });
        expect(unknown.status).toBe(404);
        const tooMany = await rest('PATCH', `/composite/sobjects/Case/${KEY}`, {
            records: Array.from({ length: 201 }, (_, i) => ({ attributes: { type: 'Case' }, [KEY]: `m-${i}` }))
        });
        expect(tooMany.status).toBe(400);
        expect(tooMany.body).toEqual([expect.objectContaining({ errorCode: 'EXCEEDED_ID_LIMIT' })]);
    });
});
