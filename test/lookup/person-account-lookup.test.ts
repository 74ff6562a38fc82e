import { startSandbox } from '../emulators/sandbox';
import type { Sandbox } from '../emulators/sandbox';
import { lookup, salesforceErrors } from './helpers';

/**
 * An Indian org with Person Accounts: the bridge detects them (mapping `personAccounts: auto`), searches
 * them beside Contacts and Leads, never returns a person account twice (its person Contact is left out),
 * and reads national numbers ("09820012345") with the mapping's default country code 91.
 */
describe('customer lookup (org with Person Accounts, default country code 91)', () => {
    let sandbox: Sandbox;

    beforeAll(async () => {
        sandbox = await startSandbox({
            salesforce: { personAccounts: true },
            mapping: { lookup: { personAccounts: 'auto', defaultCountryCode: '91', nationalLength: 10 } }
        });
    });

    afterAll(() => sandbox.stop());

    it('detects Person Accounts and finds one by its PersonEmail', async () => {
        const person = sandbox.salesforce.insert('Account', {
            FirstName: 'Meera',
            LastName: 'Iyer',
            PersonEmail: 'Meera.Iyer@example.in',
            PersonMobilePhone: '+91 98200 12345'
        });
        const answer = await lookup(sandbox, { userDetails: { email: 'meera.iyer@example.in' } });
        expect(answer).toEqual({
            status: true,
            response: [],
            conversation_details: {},
            user_details: {
                crm_found: 'true',
                crm_object: 'Account',
                crm_id: person.Id,
                crm_match_count: '1',
                first_name: 'Meera',
                name: 'Meera Iyer',
                email: 'Meera.Iyer@example.in',
                phone: '+91 98200 12345',
                account_name: 'Meera Iyer'
            }
        });
        expect(salesforceErrors(sandbox)).toEqual([]);
    });

    it('finds a person account by the national form of its mobile number', async () => {
        const person = sandbox.salesforce.insert('Account', {
            FirstName: 'Arjun',
            LastName: 'Nair',
            PersonMobilePhone: '+91 98200 22222'
        });
        const answer = await lookup(sandbox, { userDetails: { phone: '09820022222' } });
        expect(answer.user_details).toMatchObject({
            crm_found: 'true',
            crm_object: 'Account',
            crm_id: person.Id,
            crm_match_count: '1'
        });
    });

    it.each([
        ['098200 33331', '+91 98200 33331'],
        ['9820033332', '09820033332'],
        ['+91-98200-33333', '9820033333'],
        ['0091 98200 33334', '+919820033334']
    ])('finds a business contact stored as %s when the user gives %s', async (stored, given) => {
        const account = sandbox.salesforce.insert('Account', { Name: 'Tata Example Ltd' });
        const contact = sandbox.salesforce.insert('Contact', {
            FirstName: 'Kiran',
            LastName: stored,
            MobilePhone: stored,
            AccountId: account.Id
        });
        const answer = await lookup(sandbox, { userDetails: { mobile_no: given } });
        expect(answer.user_details).toMatchObject({
            crm_found: 'true',
            crm_object: 'Contact',
            crm_id: contact.Id,
            account_name: 'Tata Example Ltd',
            crm_match_count: '1'
        });
    });

    it('prefers the most recently modified record across contacts, person accounts and leads', async () => {
        sandbox.salesforce.insert('Account', {
            FirstName: 'Old',
            LastName: 'Person',
            PersonEmail: 'family@example.in',
            LastModifiedDate: '2026-01-01T00:00:00.000+0000'
        });
        const lead = sandbox.salesforce.insert('Lead', {
            LastName: 'New Lead',
            Company: 'Family',
            Email: 'family@example.in',
            LastModifiedDate: '2026-04-01T00:00:00.000+0000'
        });
        const answer = await lookup(sandbox, { userDetails: { email: 'family@example.in' } });
        expect(answer.user_details).toMatchObject({ crm_object: 'Lead', crm_id: lead.Id, crm_match_count: '2' });
    });
});
