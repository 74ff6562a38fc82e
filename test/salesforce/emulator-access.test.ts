import { makeId, shippedIntegrationUser, startSalesforceEmulator } from '../emulators/salesforce';
import type { SalesforceEmulator } from '../emulators/salesforce';

/**
 * The emulator as the org's integration user (the shipped permission sets, group and sharing rule, Private Case
 * sharing): field-level security, object permissions, record visibility and assignment rules over REST.
 */
const CLIENT_ID = 'cid';
const CLIENT_SECRET = 'csecret';
const QUEUE = makeId('00G', 3);
const OTHER_USER = makeId('005', 9);

describe('Salesforce emulator: the integration user', () => {
    let emulator: SalesforceEmulator;
    let accessToken: string;

    const api = async (path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> => {
        const res = await fetch(`${emulator.url}/services/data/v64.0${path}`, {
            ...init,
            headers: {
                authorization: `Bearer ${accessToken}`,
                'content-type': 'application/json',
                ...(init.headers as Record<string, string> | undefined)
            }
        });
        const text = await res.text();
        return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
    };
    const query = (soql: string): Promise<{ status: number; body: unknown }> =>
        api(`/query?q=${encodeURIComponent(soql)}`);
    const codeOf = (body: unknown): unknown => (body as Array<{ errorCode?: unknown }>)[0]?.errorCode;

    beforeEach(async () => {
        emulator = await startSalesforceEmulator({
            clientId: CLIENT_ID,
            clientSecret: CLIENT_SECRET,
            integrationUser: shippedIntegrationUser(),
            personAccounts: true
        });
        const res = await fetch(`${emulator.url}/services/oauth2/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({
                grant_type: 'client_credentials',
                client_id: CLIENT_ID,
                client_secret: CLIENT_SECRET
            }).toString()
        });
        accessToken = ((await res.json()) as { access_token: string }).access_token;
    });

    afterEach(async () => {
        await emulator.close();
    });

    it('answers INVALID_FIELD for a field without field-level security, in SOQL and in SOSL RETURNING', async () => {
        emulator.insert('Contact', { LastName: 'Rao', Email: 'a@example.com', Phone: '4155550101', Title: 'CEO' });
        expect((await query('SELECT Id, Name, Email FROM Contact')).status).toBe(200);
        const soql = await query('SELECT Id, Title FROM Contact');
        expect(soql.status).toBe(400);
        expect(soql.body).toEqual([
            {
                errorCode: 'INVALID_FIELD',
                message: expect.stringContaining("No such column 'Title' on entity 'Contact'") as unknown
            }
        ]);
        const sosl = await api(
            `/search?q=${encodeURIComponent('FIND {4155550101} IN PHONE FIELDS RETURNING Contact(Id, Title)')}`
        );
        expect(sosl.status).toBe(400);
        expect(codeOf(sosl.body)).toBe('INVALID_FIELD');
        // A person account's person fields follow the Contact field they mirror.
        expect((await query('SELECT Id, PersonEmail, PersonMobilePhone FROM Account')).status).toBe(200);
        expect(codeOf((await query('SELECT Id, PersonHomePhone FROM Account')).body)).toBe('INVALID_FIELD');
    });

    it('answers INVALID_FIELD_FOR_INSERT_UPDATE for a field it may read but not edit, INVALID_FIELD for one it cannot see', async () => {
        const user = shippedIntegrationUser();
        user.fields['Case.Origin'] = { read: true, edit: false };
        emulator.setIntegrationUser(user);
        const readOnly = await api('/sobjects/Case', { method: 'POST', body: JSON.stringify({ Origin: 'Web' }) });
        expect(readOnly.status).toBe(400);
        expect(readOnly.body).toEqual([
            {
                errorCode: 'INVALID_FIELD_FOR_INSERT_UPDATE',
                message: expect.stringContaining('Unable to create/update fields: Origin') as unknown,
                fields: ['Origin']
            }
        ]);
        const hidden = await api('/sobjects/Case', { method: 'POST', body: JSON.stringify({ Comments: 'x' }) });
        expect(codeOf(hidden.body)).toBe('INVALID_FIELD');
        // Describe shows what the user may do: a hidden field is not listed, a read-only one is not createable.
        const describe = (await api('/sobjects/Case/describe')).body as {
            fields: Array<{ name: string; createable: boolean }>;
        };
        expect(describe.fields.find((f) => f.name === 'Comments')).toBeUndefined();
        expect(describe.fields.find((f) => f.name === 'Origin')?.createable).toBe(false);
        expect(describe.fields.find((f) => f.name === 'Subject')?.createable).toBe(true);
    });

    it('treats an object without read access as unknown, and refuses what the object permissions do not allow', async () => {
        emulator.setIntegrationUser(shippedIntegrationUser({ without: ['Lead'] }));
        expect(codeOf((await query('SELECT Id FROM Lead')).body)).toBe('INVALID_TYPE');
        expect((await api('/sobjects/Lead/describe')).status).toBe(404);
        const contact = await api('/sobjects/Contact', { method: 'POST', body: JSON.stringify({ LastName: 'X' }) });
        expect(contact.status).toBe(400);
        expect(codeOf(contact.body)).toBe('INSUFFICIENT_ACCESS_OR_READONLY');
    });

    it('hides a Case someone else owns under Private sharing unless the shipped sharing rule shares it', async () => {
        const shared = emulator.insert('Case', { Subject: 'bot', Haptik_Event_Key__c: 'k-1', OwnerId: OTHER_USER });
        const foreign = emulator.insert('Case', { Subject: 'not ours', OwnerId: OTHER_USER });
        const rows = (await query('SELECT Id FROM Case')).body as { records: Array<{ Id: string }> };
        expect(rows.records.map((r) => r.Id)).toEqual([shared['Id']]);
        expect((await api(`/sobjects/Case/${String(foreign['Id'])}`)).status).toBe(404);
        const patch = await api(`/sobjects/Case/${String(shared['Id'])}`, {
            method: 'PATCH',
            body: JSON.stringify({ Subject: 'updated' })
        });
        expect(patch.status).toBe(204);

        // Out of the group, the bot's Case is as invisible, and its key still unique.
        emulator.setIntegrationUser(shippedIntegrationUser({ groups: [] }));
        expect((await api(`/sobjects/Case/${String(shared['Id'])}`)).status).toBe(404);
        const upsert = await api('/sobjects/Case/Haptik_Event_Key__c/k-1', {
            method: 'PATCH',
            body: JSON.stringify({ Subject: 'again' })
        });
        expect(upsert.status).toBe(400);
        expect(codeOf(upsert.body)).toBe('DUPLICATE_VALUE');

        // A Read sharing rule lets it read, not write.
        const user = shippedIntegrationUser();
        user.sharingRules = user.sharingRules.map((rule) => ({ ...rule, accessLevel: 'Read' as const }));
        emulator.setIntegrationUser(user);
        expect((await api(`/sobjects/Case/${String(shared['Id'])}`)).status).toBe(200);
        const readOnly = await api(`/sobjects/Case/${String(shared['Id'])}`, {
            method: 'PATCH',
            body: JSON.stringify({ Subject: 'no' })
        });
        expect(codeOf(readOnly.body)).toBe('INSUFFICIENT_ACCESS_OR_READONLY');
    });

    it('runs the active assignment rule unless Sforce-Auto-Assign is FALSE, on creates and updates alike', async () => {
        emulator.setCaseAssignmentRule({ ownerId: QUEUE });
        const post = (headers: Record<string, string>, key: string) =>
            api(`/sobjects/Case/Haptik_Event_Key__c/${key}`, {
                method: 'PATCH',
                headers,
                body: JSON.stringify({ Subject: 's' })
            });
        const ownerOf = (key: string): unknown =>
            emulator.records('Case').find((c) => c['Haptik_Event_Key__c'] === key)?.['OwnerId'];
        await post({}, 'no-header');
        await post({ 'Sforce-Auto-Assign': 'TRUE' }, 'true');
        await post({ 'Sforce-Auto-Assign': 'false' }, 'false');
        expect([ownerOf('no-header'), ownerOf('true'), ownerOf('false')]).toEqual([QUEUE, QUEUE, emulator.userId]);
        // An update without the header runs the rule again: that is why the bridge always sends FALSE.
        await post({}, 'false');
        expect(ownerOf('false')).toBe(QUEUE);
        expect(emulator.requests.filter((r) => r.kind === 'upsert').map((r) => r.autoAssign)).toEqual([
            undefined,
            'TRUE',
            'false',
            undefined
        ]);
    });

    it('rejects a value outside a restricted picklist with Salesforce error code, and accepts any in an unrestricted one', async () => {
        const origin = (value: string) =>
            api('/sobjects/Case', { method: 'POST', body: JSON.stringify({ Subject: 's', Origin: value }) });
        expect((await origin('Chatbot')).status).toBe(201);
        emulator.restrictPicklist('Case', 'Origin', ['Phone', 'Email', 'Web']);
        const rejected = await origin('Chatbot');
        expect(rejected.body).toEqual([
            {
                errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
                message: 'bad value for restricted picklist field: Chatbot',
                fields: ['Origin']
            }
        ]);
        expect((await origin('Web')).status).toBe(201);
    });
});
