import {
    BASE_CASE_TEMPLATE,
    buildEventCase,
    channelOf,
    DEFAULT_CASE_ORIGIN,
    DEFAULT_CASE_TEMPLATES,
    eventCaseKey,
    renderCaseText,
    truncateCaseFields
} from '../../bridge/src/core/case-templates';
import type { CaseRequest } from '../../bridge/src/core/case-templates';
import { createRedactor, DEFAULT_REDACTION_RULES } from '../../bridge/src/core/redaction';
import { parseSettings } from '../../bridge/src/config/mapping-file';

function request(overrides: Partial<CaseRequest> = {}): CaseRequest {
    return {
        node: 'log_service_request',
        user: { user_id: 'u-7', user_name: 'haptik_user_7', full_name: 'Asha Rao', device_platform: 14 },
        conversation_no: '3',
        conversation_details: {},
        user_details: { email: 'asha@example.com', phone: '+91 98450 12345' },
        entities: { order_id: [{ entity_value: 'A-1001', original_text: 'a1001' }] },
        ...overrides
    };
}

describe('channelOf', () => {
    it.each([
        [2, 'Android'],
        [3, 'Facebook'],
        [5, 'Web'],
        [6, 'iOS'],
        [14, 'WhatsApp'],
        ['14', 'WhatsApp'],
        [13, 'Other'],
        [4, 'Other'],
        [15, 'Other'],
        [99, 'Other'],
        ['WhatsApp', 'WhatsApp'],
        ['Web SDK', 'Web'],
        [null, 'Other'],
        [undefined, 'Other']
    ])('maps device_platform %p to %s', (platform, channel) => {
        expect(channelOf(platform)).toBe(channel);
    });
});

describe('eventCaseKey', () => {
    it('is business:user:conversation:node', () => {
        expect(eventCaseKey(request(), '343', 'lead')).toBe('343:u-7:3:log_service_request');
    });

    it('uses the template name when the request has no node', () => {
        expect(eventCaseKey(request({ node: undefined }), '343', 'enquiry')).toBe('343:u-7:3:enquiry');
    });

    it('scopes an explicit conversation_details.case_key to the business and the user', () => {
        expect(eventCaseKey(request({ conversation_details: { case_key: 'order-A-1001' } }), '343', 'lead')).toBe(
            '343:u-7:%key:order-A-1001'
        );
        const other = request({ user: { user_id: 'u-8' }, conversation_details: { case_key: 'order-A-1001' } });
        expect(eventCaseKey(other, '343', 'lead')).toBe('343:u-8:%key:order-A-1001');
    });

    it('keeps parts apart: a ":" inside a part cannot make two requests share a key', () => {
        const a = eventCaseKey(request({ user: { user_id: '1:2' }, conversation_no: '3' }), '343', 'x');
        const b = eventCaseKey(request({ user: { user_id: '1' }, conversation_no: '2:3' }), '343', 'x');
        expect(a).toBe('343:1%3A2:3:log_service_request');
        expect(b).toBe('343:1:2%3A3:log_service_request');
        const keyed = eventCaseKey(request({ conversation_no: 'key', node: 'n' }), '343', 'x');
        const explicit = eventCaseKey(request({ conversation_details: { case_key: 'n' } }), '343', 'x');
        expect(keyed).not.toBe(explicit);
    });

    it('hashes a key longer than the field (255), so long keys differing at the end stay apart', () => {
        const long = 'k'.repeat(300);
        const first = eventCaseKey(request({ conversation_details: { case_key: `${long}1` } }), '343', 'lead');
        const second = eventCaseKey(request({ conversation_details: { case_key: `${long}2` } }), '343', 'lead');
        expect(first).toMatch(/^343:%sha256:[0-9a-f]{64}$/);
        expect(second).toMatch(/^343:%sha256:[0-9a-f]{64}$/);
        expect(first).not.toBe(second);
        const longNode = eventCaseKey(request({ node: 'n'.repeat(300) }), '343', 'lead');
        expect(longNode.length).toBeLessThanOrEqual(255);
    });
});

describe('renderCaseText', () => {
    const context = { template: 'service_request', channel: 'WhatsApp' as const };

    it('fills entities, details, user fields and alternatives', () => {
        const text = renderCaseText(
            'Order {entities.order_id} for {user_details.name|user.full_name} ({user_details.email}) on {channel}, #{conversation_no}',
            request(),
            context
        );
        expect(text).toBe('Order A-1001 for Asha Rao (asha@example.com) on WhatsApp, #3');
    });

    it('lists every entity and detail for {entities} and {user_details}, and empties unknown placeholders', () => {
        const text = renderCaseText('{entities}\n{user_details}\n{entities.nothing}{unknown}', request(), context);
        expect(text).toBe('order_id: A-1001\nemail: asha@example.com\nphone: +91 98450 12345');
    });
});

describe('truncateCaseFields', () => {
    it('cuts values to Salesforce lengths instead of failing', () => {
        const fields = truncateCaseFields({
            Subject: 's'.repeat(400),
            Description: 'd'.repeat(40_000),
            SuppliedName: 'n'.repeat(100),
            SuppliedPhone: '1'.repeat(50),
            Priority: 'High'
        });
        expect((fields['Subject'] as string).length).toBe(255);
        expect((fields['Subject'] as string).endsWith('…')).toBe(true);
        expect((fields['Description'] as string).length).toBe(32_000);
        expect((fields['SuppliedName'] as string).length).toBe(80);
        expect((fields['SuppliedPhone'] as string).length).toBe(40);
        expect(fields['Priority']).toBe('High');
    });
});

describe('buildEventCase', () => {
    const settings = parseSettings({});

    it.each(Object.keys(DEFAULT_CASE_TEMPLATES))('builds the default %s template', (name) => {
        const built = buildEventCase(name, settings.cases.templates[name]!, request(), { businessId: '343' });
        expect(built.eventKey).toBe('343:u-7:3:log_service_request');
        expect(built.fields).toMatchObject({
            // Standard picklist values: they exist in every org.
            Origin: 'Web',
            Priority: DEFAULT_CASE_TEMPLATES[name]!.priority,
            SuppliedName: 'Asha Rao',
            SuppliedEmail: 'asha@example.com',
            SuppliedPhone: '+91 98450 12345',
            Haptik_User_Id__c: 'u-7',
            Haptik_Channel__c: 'WhatsApp'
        });
        expect(built.fields).not.toHaveProperty('Type');
        expect(['High', 'Medium', 'Low']).toContain(built.fields['Priority']);
        expect(built.fields['Subject']).toEqual(expect.any(String));
        expect(built.fields['Description']).toContain('order_id: A-1001');
        expect(built.fields).not.toHaveProperty('Haptik_Conversation_Key__c');
        expect(built.fields).not.toHaveProperty('Haptik_Event_Key__c');
    });

    it('applies a mapping-file template: subject, picklists, record type, owner queue, custom fields', () => {
        const mapped = parseSettings({
            cases: {
                templates: {
                    refund: {
                        subject: 'Refund for order {entities.order_id}',
                        description: 'Refund asked by {user.full_name}',
                        type: 'Refund',
                        reason: 'Billing',
                        priority: 'High',
                        origin: 'WhatsApp Bot',
                        recordTypeId: '012000000000001AAA',
                        ownerId: '00G000000000001AAA',
                        fields: { Order_Number__c: '{entities.order_id}', Tier__c: '{user_details.tier}' },
                        fieldLengths: { Order_Number__c: 4 }
                    }
                }
            }
        });
        const built = buildEventCase('refund', mapped.cases.templates['refund']!, request(), {
            businessId: '343',
            crm: { contactId: '003000000000001AAA' }
        });
        expect(built.fields).toMatchObject({
            Subject: 'Refund for order A-1001',
            Description: 'Refund asked by Asha Rao',
            Type: 'Refund',
            Reason: 'Billing',
            Priority: 'High',
            Origin: 'WhatsApp Bot',
            RecordTypeId: '012000000000001AAA',
            OwnerId: '00G000000000001AAA',
            Order_Number__c: 'A-1…',
            ContactId: '003000000000001AAA'
        });
        expect(built.fields).not.toHaveProperty('Tier__c');
        expect(built.fields).not.toHaveProperty('AccountId');
    });

    it('keeps the default of a template the file only partly overrides', () => {
        const mapped = parseSettings({ cases: { templates: { lead: { priority: 'High' } } } });
        expect(mapped.cases.templates['lead']).toMatchObject({
            priority: 'High',
            origin: 'Web',
            description: DEFAULT_CASE_TEMPLATES['lead']!.description,
            subject: DEFAULT_CASE_TEMPLATES['lead']!.subject
        });
    });

    it('builds a file template named like an Object.prototype member from the base template', () => {
        const mapped = parseSettings({ cases: { templates: { toString: { priority: 'High' } } } });
        const template = mapped.cases.templates['toString']!;
        expect(template).toMatchObject({ priority: 'High', subject: BASE_CASE_TEMPLATE.subject, origin: DEFAULT_CASE_ORIGIN });
        const built = buildEventCase('toString', template, request(), { businessId: '343' });
        expect(built.fields['Subject']).toBe('Request from Asha Rao via chat');
    });

    it('reads only own keys of the request: prototype names in placeholders stay empty', () => {
        const rendered = renderCaseText(
            '[{entities.constructor}][{user_details.toString}][{user.__proto__}][{entities.__proto__}]',
            request({ entities: Object.fromEntries([['__proto__', [{ entity_value: 'x' }]]]) }),
            { template: 't', channel: 'Web' }
        );
        expect(rendered).toBe('[][][][x]');
    });

    it('refuses custom fields that are not API names or that the bridge owns', () => {
        expect(() =>
            parseSettings({ cases: { templates: { x: { fields: { 'Bad Field': '{user.full_name}' } } } } })
        ).toThrow(/cases\.templates\.x\.fields/);
        expect(() => parseSettings({ cases: { templates: { x: { fields: { Haptik_Event_Key__c: 'k' } } } } })).toThrow(
            /written by the bridge/
        );
        expect(() => parseSettings({ cases: { templates: { x: { ownerId: 'queue-1' } } } })).toThrow(
            /not a Salesforce record id/
        );
    });

    it('leaves out an invalid SuppliedEmail and cuts long Supplied values', () => {
        const built = buildEventCase(
            'lead',
            DEFAULT_CASE_TEMPLATES['lead']!,
            request({ user_details: { email: 'not-an-email', name: 'N'.repeat(120) } }),
            { businessId: '343' }
        );
        expect(built.fields).not.toHaveProperty('SuppliedEmail');
        expect((built.fields['SuppliedName'] as string).length).toBe(80);
    });

    it('redacts free text but not the contact fields', () => {
        const built = buildEventCase(
            'service_request',
            DEFAULT_CASE_TEMPLATES['service_request']!,
            request({ entities: { issue: [{ entity_value: 'charged twice on 4111 1111 1111 1111' }] } }),
            { businessId: '343', redact: createRedactor(DEFAULT_REDACTION_RULES) }
        );
        expect(built.fields['Subject']).toBe('Service request: charged twice on [redacted card]');
        expect(built.fields['Description']).not.toContain('4111');
        expect(built.fields['SuppliedPhone']).toBe('+91 98450 12345');
    });
});
