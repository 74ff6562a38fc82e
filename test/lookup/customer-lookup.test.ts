import { startSandbox } from '../emulators/sandbox';
import { shippedIntegrationUser } from '../emulators/salesforce';
import type { Sandbox } from '../emulators/sandbox';
import { DEFAULT_IDENTIFIERS } from '../../bridge/src/config/mapping-file';
import { textHsl } from '../../bridge/src/haptik/hsl';
import { integrationRequest } from '../emulators/haptik/haptik-sender';
import { eventually } from '../support/eventually';
import { lookup, salesforceErrors } from './helpers';

/**
 * Issue 4 end to end: a signed Haptik integration request → bridge → Salesforce emulator (no Person
 * Accounts in this org), over real sockets. One sandbox for the file; each test uses its own
 * identifiers so the bridge's cache never answers for another test.
 */
describe('customer lookup (org without Person Accounts)', () => {
    let sandbox: Sandbox;
    let acmeId: string;

    beforeAll(async () => {
        sandbox = await startSandbox({
            salesforce: {
                extraFields: { Contact: ['Loyalty_Tier__c', 'Customer_Id__c'], Lead: ['Customer_Id__c'] },
                // The admin gives the integration user read access to the org's fields the mapping file names.
                integrationUser: shippedIntegrationUser({
                    readFields: ['Contact.Loyalty_Tier__c', 'Contact.Customer_Id__c', 'Lead.Customer_Id__c']
                })
            },
            mapping: {
                lookup: {
                    greeting: 'Welcome back, {first_name}!',
                    fields: { loyalty_tier: { Contact: 'Loyalty_Tier__c' } },
                    identifiers: [
                        ...DEFAULT_IDENTIFIERS.filter((i) => i.from !== 'user.auth_id'),
                        {
                            from: 'user_details.customer_id',
                            match: 'externalId',
                            fields: { Contact: 'Customer_Id__c', Lead: 'Customer_Id__c' }
                        }
                    ]
                }
            }
        });
        acmeId = String(sandbox.salesforce.insert('Account', { Name: 'Acme Ltd' }).Id);
    });

    afterAll(() => sandbox.stop());

    it('finds a contact by email whatever its case, with the greeting as HSL and the custom field', async () => {
        const contact = sandbox.salesforce.insert('Contact', {
            FirstName: 'Asha',
            LastName: 'Rao',
            Email: 'Asha.Rao@Example.com',
            MobilePhone: '+1 415 555 0101',
            AccountId: acmeId,
            Loyalty_Tier__c: 'Gold'
        });
        const answer = await lookup(sandbox, { userDetails: { email: 'asha.RAO@example.COM' } });
        expect(answer).toEqual({
            status: true,
            response: [textHsl('Welcome back, Asha!')],
            conversation_details: {},
            user_details: {
                crm_found: 'true',
                crm_object: 'Contact',
                crm_id: contact.Id,
                crm_match_count: '1',
                first_name: 'Asha',
                name: 'Asha Rao',
                email: 'Asha.Rao@Example.com',
                phone: '+1 415 555 0101',
                account_name: 'Acme Ltd',
                loyalty_tier: 'Gold'
            }
        });
        // The org has no Person Accounts: the bridge found out once (INVALID_FIELD) and searched without them.
        expect(salesforceErrors(sandbox).filter((c) => c !== 'INVALID_FIELD')).toEqual([]);
    });

    it.each([
        ['(415) 555-0111', '+1 415 555 0111', 'phone'],
        ['+1 415 555 0112', '4155550112', 'phone'],
        ['4155550113', '(415) 555-0113', 'mobile_no'],
        ['+14155550114', '1-415-555-0114', 'phone'],
        ['415.555.0115', '001 415 555 0115', 'mobile_no']
    ])('finds a contact stored as %s when the user gives %s (user_details.%s)', async (stored, given, key) => {
        const contact = sandbox.salesforce.insert('Contact', { FirstName: 'Phone', LastName: stored, Phone: stored });
        const answer = await lookup(sandbox, { userDetails: { [key]: given } });
        expect(answer.status).toBe(true);
        expect(answer.user_details).toMatchObject({
            crm_found: 'true',
            crm_object: 'Contact',
            crm_id: contact.Id,
            phone: stored,
            crm_match_count: '1'
        });
    });

    it('finds the phone through a bot entity too', async () => {
        const contact = sandbox.salesforce.insert('Contact', { LastName: 'Entity', MobilePhone: '(415) 555-0121' });
        const answer = await lookup(sandbox, { entities: { phone_number: '415 555 0121' } });
        expect(answer.user_details).toMatchObject({ crm_found: 'true', crm_id: contact.Id });
    });

    it('falls back to an unconverted lead, and ignores converted ones', async () => {
        const lead = sandbox.salesforce.insert('Lead', {
            FirstName: 'Lena',
            LastName: 'Lead',
            Company: 'Lead Co',
            Email: 'lena@lead.example',
            Phone: '+1 415 555 0131'
        });
        sandbox.salesforce.insert('Lead', {
            FirstName: 'Conny',
            LastName: 'Converted',
            Company: 'Old Co',
            Email: 'conny@lead.example',
            Phone: '(415) 555-0131',
            IsConverted: true
        });
        const byEmail = await lookup(sandbox, { userDetails: { email: 'lena@lead.example' } });
        expect(byEmail.user_details).toMatchObject({
            crm_found: 'true',
            crm_object: 'Lead',
            crm_id: lead.Id,
            first_name: 'Lena',
            name: 'Lena Lead',
            account_name: 'Lead Co',
            loyalty_tier: '',
            crm_match_count: '1'
        });
        expect(byEmail.response).toEqual([textHsl('Welcome back, Lena!')]);
        const byPhone = await lookup(sandbox, { userDetails: { phone: '4155550131' } });
        expect(byPhone.user_details).toMatchObject({ crm_found: 'true', crm_id: lead.Id, crm_match_count: '1' });

        const converted = await lookup(sandbox, { userDetails: { email: 'conny@lead.example' } });
        expect(converted).toEqual({
            status: true,
            response: [],
            conversation_details: {},
            user_details: { crm_found: 'false' }
        });
    });

    it('answers status true with crm_found false when nothing matches or the user gave no identifier', async () => {
        const notFound = { status: true, response: [], conversation_details: {}, user_details: { crm_found: 'false' } };
        expect(await lookup(sandbox, { userDetails: { email: 'nobody@nowhere.example' } })).toEqual(notFound);
        expect(await lookup(sandbox, { userDetails: { phone: '+1 212 555 0199' } })).toEqual(notFound);
        expect(await lookup(sandbox, { userDetails: { customer_id: 'NO-SUCH-ID' } })).toEqual(notFound);
        expect(await lookup(sandbox, { userDetails: { email: 'not an email', phone: 'call me' } })).toEqual(notFound);
    });

    it('chooses the most recently modified of several matches and reports how many matched', async () => {
        const email = 'shared@several.example';
        sandbox.salesforce.insert('Contact', {
            FirstName: 'Old',
            LastName: 'Contact',
            Email: email,
            LastModifiedDate: '2026-01-10T10:00:00.000+0000'
        });
        const newest = sandbox.salesforce.insert('Lead', {
            FirstName: 'Newest',
            LastName: 'Lead',
            Company: 'N',
            Email: email.toUpperCase(),
            LastModifiedDate: '2026-03-10T10:00:00.000+0000'
        });
        sandbox.salesforce.insert('Contact', {
            FirstName: 'Middle',
            LastName: 'Contact',
            Email: email,
            LastModifiedDate: '2026-02-10T10:00:00.000+0000'
        });
        const answer = await lookup(sandbox, { userDetails: { email } });
        expect(answer.user_details).toMatchObject({
            crm_found: 'true',
            crm_object: 'Lead',
            crm_id: newest.Id,
            crm_match_count: '3'
        });

        sandbox.salesforce.insert('Contact', {
            LastName: 'A',
            Phone: '(415) 555-0141',
            LastModifiedDate: '2026-05-01T00:00:00.000+0000'
        });
        const latest = sandbox.salesforce.insert('Contact', {
            LastName: 'B',
            MobilePhone: '+1 415 555 0141',
            LastModifiedDate: '2026-06-01T00:00:00.000+0000'
        });
        const byPhone = await lookup(sandbox, { userDetails: { phone: '4155550141' } });
        expect(byPhone.user_details).toMatchObject({ crm_id: latest.Id, crm_match_count: '2' });
    });

    describe.each([["x' OR Name LIKE '%"], ["a\\' OR Id != null"]])('the injection string %s', (attack) => {
        beforeAll(() => {
            // Records that an injected "OR Name LIKE '%'" or "OR Id != null" would return.
            sandbox.salesforce.insert('Contact', {
                LastName: 'Victim',
                Email: 'victim@example.com',
                Customer_Id__c: 'C-1',
                Phone: '4155550151'
            });
        });

        it.each([
            ['an email', { email: attack }],
            ['an email-shaped value', { email: `${attack.replace(/ /g, '')}@example.com` }],
            ['a phone', { phone: attack }],
            ['a mobile number with digits', { mobile_no: `${attack} 4155550151` }],
            ['an external id', { customer_id: attack }]
        ])('as %s matches nothing and never makes Salesforce answer MALFORMED_QUERY', async (_name, userDetails) => {
            sandbox.salesforce.reset();
            const answer = await lookup(sandbox, { userDetails });
            expect(answer).toEqual({
                status: true,
                response: [],
                conversation_details: {},
                user_details: { crm_found: 'false' }
            });
            expect(salesforceErrors(sandbox)).toEqual([]);
            expect(sandbox.salesforce.requests.every((r) => r.status === 200)).toBe(true);
        });

        it('reaches Salesforce as an escaped literal when it is an external id', async () => {
            sandbox.salesforce.reset();
            await lookup(sandbox, { userDetails: { customer_id: `${attack}-probe` } });
            expect(sandbox.salesforce.apiCalls.byKind['query']).toBe(2); // Contact and Lead
            expect(salesforceErrors(sandbox)).toEqual([]);
        });
    });

    it('makes one Salesforce search for 50 concurrent identical lookups, and none for a repeat within the TTL', async () => {
        const contact = sandbox.salesforce.insert('Contact', {
            FirstName: 'Single',
            LastName: 'Flight',
            Phone: '(415) 555-0161'
        });
        sandbox.salesforce.reset();
        const answers = await Promise.all(
            Array.from({ length: 50 }, () => lookup(sandbox, { userDetails: { phone: '+1 415 555 0161' } }))
        );
        expect(answers.every((a) => a.user_details['crm_id'] === contact.Id)).toBe(true);
        expect(sandbox.salesforce.apiCalls.byKind['search']).toBe(1);
        expect(sandbox.salesforce.apiCalls.total).toBe(1);

        const again = await lookup(sandbox, { userDetails: { phone: '4155550161' } });
        expect(again.user_details['crm_id']).toBe(contact.Id);
        expect(sandbox.salesforce.apiCalls.total).toBe(1);

        const metrics = await (await fetch(`${sandbox.bridge.url}/metrics`)).text();
        const count = (result: string): number =>
            Number(
                new RegExp(`bridge_cache_lookups_total\\{cache="crm_lookup",result="${result}"\\} (\\d+)`).exec(
                    metrics
                )?.[1] ?? 0
            );
        expect(count('hit')).toBeGreaterThanOrEqual(1);
        expect(count('miss')).toBeGreaterThanOrEqual(1);
        expect(count('hit') + count('shared')).toBeGreaterThanOrEqual(50);
    });

    it('stores the user names of concurrent lookups behind the answers', async () => {
        const users = Array.from({ length: 30 }, (_, i) => ({ userId: `names-${i}`, userName: `haptik_user_${i}` }));
        const answers = await Promise.all(
            users.map((user) =>
                sandbox.send.customer(
                    integrationRequest({ ...user, authId: '', userDetails: { email: `${user.userId}@example.com` } })
                )
            )
        );
        expect(answers.every((a) => a.status === 200)).toBe(true);
        const stored = await eventually(async () => {
            const rows = await sandbox.bridge.db.query<{ user_id: string; user_name: string }>(
                `SELECT user_id, user_name FROM haptik_users WHERE user_id LIKE 'names-%' ORDER BY user_id`
            );
            return rows.rows.length === users.length ? rows.rows : undefined;
        });
        expect(stored).toEqual(
            [...users]
                .sort((a, b) => a.userId.localeCompare(b.userId))
                .map((u) => ({ user_id: u.userId, user_name: u.userName }))
        );
    });

    it('keeps personal data out of /metrics', async () => {
        const metrics = await (await fetch(`${sandbox.bridge.url}/metrics`)).text();
        expect(metrics).not.toContain('Asha');
        expect(metrics).not.toContain('4155550161');
    });
});
