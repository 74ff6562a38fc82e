import {
    chooseRecord,
    confirmMatches,
    identifierFrom,
    lookupAnswer,
    renderTemplate
} from '../../bridge/src/core/customer-lookup';
import type { CrmRecord, LookupRules } from '../../bridge/src/core/customer-lookup';
import { parseSettings } from '../../bridge/src/config/mapping-file';

const rules: LookupRules = parseSettings({}).lookup;

function record(overrides: Partial<CrmRecord>): CrmRecord {
    return {
        object: 'Contact',
        sobject: 'Contact',
        id: '003000000000001AAA',
        firstName: 'Asha',
        name: 'Asha Rao',
        email: 'asha@example.com',
        phones: ['(415) 555-0134'],
        accountName: 'Acme',
        lastModified: '2026-11-01T10:00:00.000+0000',
        extra: {},
        ...overrides
    };
}

describe('identifierFrom', () => {
    it('takes the email from user_details before a phone', () => {
        const id = identifierFrom({ user_details: { email: 'Asha@Example.com', phone: '4155550134' } }, rules);
        expect(id).toEqual({ kind: 'email', value: 'Asha@Example.com', searchTerm: 'asha@example.com' });
    });

    it('finds a phone in user_details or an entity, searching national digits', () => {
        expect(identifierFrom({ user_details: { mobile_no: '+1 (415) 555-0134' } }, rules)).toMatchObject({
            kind: 'phone',
            searchTerm: '4155550134'
        });
        expect(
            identifierFrom(
                { entities: { phone_number: [{ entity_value: '415-555-0134', original_text: 'x' }] } },
                rules
            )
        ).toMatchObject({ kind: 'phone', searchTerm: '4155550134' });
    });

    it('recognises what auth_id holds, and skips values of the wrong shape', () => {
        expect(identifierFrom({ user: { auth_id: 'asha@example.com' } }, rules)).toMatchObject({ kind: 'email' });
        expect(identifierFrom({ user: { auth_id: '+14155550134' } }, rules)).toMatchObject({ kind: 'phone' });
        expect(identifierFrom({ user: { auth_id: 'cust-42' } }, rules)).toBeUndefined();
        expect(identifierFrom({ user_details: { email: 'not an email' } }, rules)).toBeUndefined();
    });

    it('uses an external id field only when the mapping names one', () => {
        const custom = parseSettings({
            lookup: {
                identifiers: [{ from: 'user.auth_id', match: 'externalId', fields: { Contact: 'Customer_Id__c' } }]
            }
        }).lookup;
        expect(identifierFrom({ user: { auth_id: 'cust-42' } }, custom)).toEqual({
            kind: 'externalId',
            value: 'cust-42',
            searchTerm: 'cust-42',
            fields: { Contact: 'Customer_Id__c' }
        });
    });
});

describe('matching and choice', () => {
    it('confirms phone matches across formats and drops near misses from a wide search', () => {
        const id = identifierFrom({ user_details: { phone: '+14155550134' } }, rules)!;
        const candidates = [
            record({ id: 'a', phones: ['+1 415 555 0134'] }),
            record({ id: 'b', phones: ['4155550134'] }),
            record({ id: 'c', phones: ['(415) 555-0135'] }),
            record({ id: 'd', phones: ['+44 415 555 0134'] })
        ];
        expect(confirmMatches(id, candidates, rules).map((r) => r.id)).toEqual(['a', 'b']);
    });

    it('confirms emails case-insensitively', () => {
        const id = identifierFrom({ user_details: { email: 'ASHA@example.com' } }, rules)!;
        const matches = confirmMatches(
            id,
            [record({ id: 'a' }), record({ id: 'b', email: 'other@example.com' })],
            rules
        );
        expect(matches.map((r) => r.id)).toEqual(['a']);
    });

    it('chooses the most recently modified record, then the object order', () => {
        const older = record({ id: 'old', lastModified: '2026-01-01T00:00:00.000+0000' });
        const newer = record({ id: 'new', lastModified: '2026-06-01T00:00:00.000+0000' });
        expect(chooseRecord([older, newer], rules)?.id).toBe('new');
        const lead = record({ id: 'lead', object: 'Lead', sobject: 'Lead' });
        const contact = record({ id: 'contact' });
        expect(chooseRecord([lead, contact], rules)?.id).toBe('contact');
        expect(chooseRecord([], rules)).toBeUndefined();
    });
});

describe('lookupAnswer', () => {
    const hsl = (text: string): string => JSON.stringify({ text, type: 'TEXT', data: { quick_replies: [] } });

    it('answers a match with the default user_details keys, the count and a greeting', () => {
        const withGreeting = { ...rules, greeting: 'Welcome back, {first_name}!' };
        const answer = lookupAnswer({ kind: 'found', record: record({}), matches: 2 }, withGreeting, hsl);
        expect(answer.status).toBe(true);
        expect(answer.user_details).toEqual({
            crm_found: true,
            crm_object: 'Contact',
            crm_id: '003000000000001AAA',
            crm_match_count: 2,
            first_name: 'Asha',
            name: 'Asha Rao',
            email: 'asha@example.com',
            phone: '(415) 555-0134',
            account_name: 'Acme'
        });
        expect(answer.response).toEqual([hsl('Welcome back, Asha!')]);
    });

    it('answers not found with status true so the bot asks instead of breaking', () => {
        const answer = lookupAnswer({ kind: 'not_found', reason: 'no_match' }, rules, hsl);
        expect(answer).toEqual({
            status: true,
            response: [],
            conversation_details: {},
            user_details: { crm_found: false }
        });
    });

    it('answers a failure with status false and the error code', () => {
        const answer = lookupAnswer({ kind: 'failed', errorCode: 'bridge_salesforce_limit_exceeded' }, rules, hsl);
        expect(answer.status).toBe(false);
        expect(answer.user_details).toEqual({ crm_found: false, crm_error: 'bridge_salesforce_limit_exceeded' });
    });

    it('renders templates without inventing values', () => {
        expect(renderTemplate('Hi {first_name}{missing}!', { first_name: 'Asha' })).toBe('Hi Asha!');
    });
});

describe('mapping file', () => {
    it('rejects object and field names that are not API names', () => {
        expect(() =>
            parseSettings({ lookup: { fields: { tier: { Contact: "Tier__c FROM Contact WHERE Name != '" } } } })
        ).toThrow(/lookup.fields.tier.Contact is not a Salesforce field name/);
        expect(() => parseSettings({ lookup: { objects: ['Opportunity'] } })).toThrow(/bridge|invalid/);
    });
});
