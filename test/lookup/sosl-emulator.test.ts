import { startSalesforceEmulator } from '../emulators/salesforce';
import type { SalesforceEmulator } from '../emulators/salesforce';
import { escapeSoslTerm } from '../../bridge/src/salesforce/sosl';

/** The emulator's SOSL and Person Account fields, over HTTP as the bridge sees them. */
async function tokenFor(emulator: SalesforceEmulator): Promise<string> {
    const response = await fetch(`${emulator.url}/services/oauth2/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: 'emulator-client-id',
            client_secret: 'emulator-client-secret'
        }).toString()
    });
    return ((await response.json()) as { access_token: string }).access_token;
}

function client(emulator: SalesforceEmulator, token: string) {
    const get = async (resource: string, param: string) => {
        const response = await fetch(`${emulator.url}/services/data/v64.0/${resource}?q=${encodeURIComponent(param)}`, {
            headers: { Authorization: `Bearer ${token}` }
        });
        return { status: response.status, body: await response.json() };
    };
    return {
        search: (sosl: string) => get('search', sosl),
        query: (soql: string) => get('query', soql)
    };
}

type Row = Record<string, unknown> & { attributes: { type: string; url: string } };
const rowsOf = (body: unknown): Row[] => (body as { searchRecords: Row[] }).searchRecords;

describe('Salesforce emulator: SOSL', () => {
    let emulator: SalesforceEmulator;
    let api: ReturnType<typeof client>;

    beforeAll(async () => {
        emulator = await startSalesforceEmulator();
        api = client(emulator, await tokenFor(emulator));
        const account = emulator.insert('Account', { Name: 'Acme Ltd' });
        emulator.insert('Contact', {
            FirstName: 'Asha',
            LastName: 'Rao',
            Email: 'Asha.Rao@Example.com',
            Phone: '(415) 555-0134',
            AccountId: account.Id
        });
        emulator.insert('Contact', { FirstName: 'Ravi', LastName: 'Kumar', MobilePhone: '+1 415 555 0134' });
        emulator.insert('Lead', { FirstName: 'Lena', LastName: 'Lead', Company: 'Lead Co', Phone: '4155550134' });
        emulator.insert('Lead', {
            FirstName: 'Conv',
            LastName: 'Erted',
            Company: 'Old Co',
            Phone: '415.555.0134',
            IsConverted: true
        });
        emulator.insert('Contact', { LastName: 'Other', Phone: '212 555 0199' });
    });

    afterAll(() => emulator.close());

    it('finds every phone format IN PHONE FIELDS, per RETURNING clause with its WHERE, in clause order', async () => {
        const result = await api.search(
            'FIND {4155550134} IN PHONE FIELDS RETURNING Contact(Id, Name, Phone, MobilePhone, Account.Name ORDER BY LastName), ' +
                'Lead(Id, Name, Phone WHERE IsConverted = false LIMIT 20)'
        );
        expect(result.status).toBe(200);
        const rows = rowsOf(result.body);
        expect(rows.map((r) => [r.attributes.type, r['Name']])).toEqual([
            ['Contact', 'Ravi Kumar'],
            ['Contact', 'Asha Rao'],
            ['Lead', 'Lena Lead']
        ]);
        expect(rows[1]).toMatchObject({ Account: { Name: 'Acme Ltd' }, Phone: '(415) 555-0134' });
        expect(rows[0]?.attributes.url).toMatch(/^\/services\/data\/v64\.0\/sobjects\/Contact\/003/);
    });

    it('matches email fields case-insensitively and exactly', async () => {
        const rows = rowsOf(
            (
                await api.search(
                    `FIND {${escapeSoslTerm('asha.rao@example.com')}} IN EMAIL FIELDS RETURNING Contact(Id, Email)`
                )
            ).body
        );
        expect(rows.map((r) => r['Email'])).toEqual(['Asha.Rao@Example.com']);
        const none = rowsOf((await api.search('FIND {rao@example.com} IN EMAIL FIELDS RETURNING Contact(Id)')).body);
        expect(none).toEqual([]);
    });

    it('searches names and returns only Id without a field list', async () => {
        const rows = rowsOf((await api.search('FIND {asha} IN NAME FIELDS RETURNING Contact')).body);
        expect(rows).toHaveLength(1);
        expect(Object.keys(rows[0] ?? {}).sort()).toEqual(['Id', 'attributes']);
    });

    it('treats escaped reserved characters as text: an injection attempt matches nothing', async () => {
        const term = escapeSoslTerm("x' OR Name LIKE '%");
        const result = await api.search(`FIND {${term}} IN ALL FIELDS RETURNING Contact(Id), Lead(Id)`);
        expect(result.status).toBe(200);
        expect(rowsOf(result.body)).toEqual([]);
        const escapedBackslash = await api.search(
            `FIND {${escapeSoslTerm("a\\' OR Id != null")}} RETURNING Contact(Id)`
        );
        expect(escapedBackslash).toEqual({ status: 200, body: { searchRecords: [] } });
    });

    it.each([
        ['an unescaped quote in the term', "FIND {x' OR Name} RETURNING Contact(Id)"],
        ['an unescaped brace closing the term early', 'FIND {a}b} RETURNING Contact(Id)'],
        ['an unterminated term', 'FIND {4155550134 RETURNING Contact(Id)'],
        ['no braces', 'FIND 4155550134 RETURNING Contact(Id)'],
        ['a one-character term', 'FIND {a} RETURNING Contact(Id)'],
        // What jsforce's own escaping makes of a\' OR Id != null: the literal closes early.
        [
            'a broken literal in a WHERE',
            "FIND {4155550134} IN PHONE FIELDS RETURNING Contact(Id WHERE Name = 'a\\\\' OR Id != null')"
        ],
        ['an illegal escape in a WHERE literal', "FIND {4155550134} RETURNING Contact(Id WHERE Name = 'a\\x')"],
        ['text after the statement', 'FIND {4155550134} RETURNING Contact(Id) garbage']
    ])('answers 400 MALFORMED_SEARCH for %s', async (_name, sosl) => {
        const result = await api.search(sosl);
        expect(result.status).toBe(400);
        expect(result.body).toEqual([{ message: expect.any(String) as string, errorCode: 'MALFORMED_SEARCH' }]);
        expect(emulator.requests.at(-1)).toMatchObject({ kind: 'search', status: 400, errorCode: 'MALFORMED_SEARCH' });
    });

    it('answers INVALID_FIELD for an unknown field and INVALID_TYPE for an unknown object', async () => {
        const field = await api.search('FIND {4155550134} IN PHONE FIELDS RETURNING Contact(Id, Nope__c)');
        expect(field.status).toBe(400);
        expect(field.body).toEqual([
            { message: expect.stringContaining("No such column 'Nope__c'") as string, errorCode: 'INVALID_FIELD' }
        ]);
        const type = await api.search('FIND {4155550134} RETURNING Nope__c(Id)');
        expect(type.body).toMatchObject([{ errorCode: 'INVALID_TYPE' }]);
    });

    it('has no person-account fields unless Person Accounts are on (Salesforce message shape)', async () => {
        const result = await api.query('SELECT Id FROM Account WHERE IsPersonAccount = true LIMIT 1');
        expect(result.status).toBe(400);
        expect(result.body).toEqual([
            {
                message: expect.stringMatching(
                    /^\nSELECT Id FROM Account WHERE IsPersonAccount = true LIMIT 1\n {29}\^\nERROR at Row:1:Column:30\nNo such column 'IsPersonAccount' on entity 'Account'\./
                ) as string,
                errorCode: 'INVALID_FIELD'
            }
        ]);
    });

    it('keeps Name, LastModifiedDate (+0000) and Lead.IsConverted as Salesforce computes them', async () => {
        const result = await api.query("SELECT Name, LastModifiedDate, IsConverted FROM Lead WHERE LastName = 'Lead'");
        expect((result.body as { records: Row[] }).records[0]).toMatchObject({
            Name: 'Lena Lead',
            IsConverted: false,
            LastModifiedDate: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/) as string
        });
    });
});

describe('Salesforce emulator: Person Accounts on', () => {
    let emulator: SalesforceEmulator;
    let api: ReturnType<typeof client>;

    beforeAll(async () => {
        emulator = await startSalesforceEmulator({ personAccounts: true });
        api = client(emulator, await tokenFor(emulator));
    });

    afterAll(() => emulator.close());

    it('makes an Account with a LastName a person account with its person Contact', async () => {
        const account = emulator.insert('Account', {
            FirstName: 'Meera',
            LastName: 'Iyer',
            PersonEmail: 'meera@example.in',
            PersonMobilePhone: '+91 98200 12345'
        });
        emulator.insert('Account', { Name: 'Business Co', Phone: '+91 98200 12345' });
        expect(account).toMatchObject({ IsPersonAccount: true, Name: 'Meera Iyer' });

        const people = await api.query(
            "SELECT Id, Name, PersonEmail, PersonContactId FROM Account WHERE IsPersonAccount = true AND PersonEmail = 'MEERA@example.in'"
        );
        expect(people.status).toBe(200);
        const [person] = (people.body as { records: Row[] }).records;
        expect(person).toMatchObject({ Id: account.Id, Name: 'Meera Iyer', PersonContactId: account.PersonContactId });

        const contact = await api.query(`SELECT Name, Email, MobilePhone, IsPersonAccount, AccountId FROM Contact`);
        expect((contact.body as { records: Row[] }).records).toEqual([
            expect.objectContaining({
                Name: 'Meera Iyer',
                Email: 'meera@example.in',
                MobilePhone: '+91 98200 12345',
                IsPersonAccount: true,
                AccountId: account.Id
            })
        ]);

        const found = rowsOf(
            (
                await api.search(
                    'FIND {9820012345} IN PHONE FIELDS RETURNING Contact(Id WHERE IsPersonAccount = false), ' +
                        'Account(Id, Name, PersonMobilePhone WHERE IsPersonAccount = true)'
                )
            ).body
        );
        expect(found.map((r) => [r.attributes.type, r['Name']])).toEqual([['Account', 'Meera Iyer']]);
    });
});
