import { integrationRequest } from '../emulators/haptik/haptik-sender';
import { startSandbox } from '../emulators/sandbox';
import type { Sandbox } from '../emulators/sandbox';
import type { SfRecord } from '../emulators/salesforce';
import { hslToPlainText } from '../../bridge/src/haptik/hsl';
import { eventually } from '../support/eventually';

/** Cases from bot events, end to end: signed integration calls → bridge → outbox → Salesforce emulator. */
interface CaseAnswer {
    status: boolean;
    response: string[];
    conversation_details: Record<string, unknown>;
    user_details: Record<string, unknown>;
}

let sandbox: Sandbox;

beforeAll(async () => {
    sandbox = await startSandbox({
        mapping: {
            cases: {
                awaitTimeoutMs: 1500,
                templates: {
                    refund: {
                        subject: 'Refund for order {entities.order_id}',
                        type: 'Refund',
                        priority: 'High',
                        ownerId: '00G000000000001AAA',
                        fields: { Reason: '{entities.reason}' }
                    }
                }
            }
        },
        outbox: { pollIntervalMs: 50, backoff: { baseMs: 20, maxMs: 100 }, maxAttempts: 20 }
    });
});

afterAll(async () => {
    await sandbox.stop();
});

function casesByEventKey(key: string): SfRecord[] {
    return sandbox.salesforce.records('Case').filter((c) => c['Haptik_Event_Key__c'] === key);
}

async function createCase(template: string, input: Parameters<typeof integrationRequest>[0]): Promise<CaseAnswer> {
    const result = await sandbox.send.caseEvent(template, integrationRequest(input));
    expect(result.status).toBe(200);
    return result.body as CaseAnswer;
}

describe('POST /haptik/integrations/case/{template}', () => {
    it.each([
        ['lead', 'New lead: Asha Rao', 'Medium'],
        ['enquiry', 'Enquiry: shipping to Pune', 'Low'],
        ['service_request', 'Service request: A-1001', 'Medium']
    ])('creates a %s Case and answers with its number', async (template, subject, priority) => {
        const node = `node_${template}`;
        const answer = await createCase(template, {
            userId: `u-${template}`,
            node,
            devicePlatform: 14,
            userDetails: { name: 'Asha Rao', email: `asha.${template}@example.com`, phone: '+91 98450 12345' },
            entities: { order_id: 'A-1001', topic: 'shipping to Pune' }
        });
        const key = `343:u-${template}:1:${node}`;
        const stored = casesByEventKey(key);
        expect(stored).toHaveLength(1);
        const record = stored[0]!;
        expect(record).toMatchObject({
            Subject: subject,
            Priority: priority,
            Origin: 'Web',
            SuppliedName: 'Asha Rao',
            SuppliedEmail: `asha.${template}@example.com`,
            SuppliedPhone: '+91 98450 12345',
            Haptik_User_Id__c: `u-${template}`,
            Haptik_Channel__c: 'WhatsApp'
        });
        expect(record['Haptik_Conversation_Key__c'] ?? null).toBeNull();
        expect(String(record['Description'])).toContain('order_id: A-1001');
        expect(answer.status).toBe(true);
        expect(answer.user_details).toEqual({ case_number: record['CaseNumber'], case_id: record['Id'] });
        expect(answer.response.map((r) => hslToPlainText(r))).toEqual([
            `Your request ${String(record['CaseNumber'])} is logged`
        ]);
    });

    it('uses a template from the mapping file, with its owner queue and field mapping', async () => {
        const answer = await createCase('refund', {
            userId: 'u-refund',
            node: 'refund_node',
            entities: { order_id: 'B-2002', reason: 'Damaged' }
        });
        expect(answer.status).toBe(true);
        const [record] = casesByEventKey('343:u-refund:1:refund_node');
        expect(record).toMatchObject({
            Subject: 'Refund for order B-2002',
            Type: 'Refund',
            Priority: 'High',
            OwnerId: '00G000000000001AAA',
            Reason: 'Damaged',
            Haptik_Channel__c: 'Web'
        });
    });

    it('answers 404 bridge_case_template_not_found for an unknown template and writes nothing', async () => {
        const before = sandbox.salesforce.records('Case').length;
        const result = await sandbox.send.caseEvent('no_such_template', integrationRequest({ userId: 'u-404' }));
        expect(result.status).toBe(404);
        expect(result.body).toMatchObject({ error: { code: 'bridge_case_template_not_found' } });
        expect(sandbox.salesforce.records('Case')).toHaveLength(before);
    });

    it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
        'answers 404 for the template name %s (an Object.prototype member), before any Salesforce call',
        async (name) => {
            const cases = sandbox.salesforce.records('Case').length;
            const calls = sandbox.salesforce.requests.length;
            const result = await sandbox.send.caseEvent(
                name,
                integrationRequest({ userId: `u-proto-${name}`, userDetails: { email: 'proto@example.com' } })
            );
            expect(result.status).toBe(404);
            expect(result.body).toMatchObject({ error: { code: 'bridge_case_template_not_found' } });
            expect(sandbox.salesforce.records('Case')).toHaveLength(cases);
            expect(sandbox.salesforce.requests).toHaveLength(calls);
        }
    );

    it('answers a replayed request with the same Case: one Case, same number', async () => {
        const request = { userId: 'u-replay', node: 'replay_node', userDetails: { name: 'Ravi' } };
        const first = await createCase('enquiry', request);
        const second = await createCase('enquiry', request);
        const third = await createCase('enquiry', request);
        expect(first.user_details['case_number']).toEqual(expect.any(String));
        expect(second.user_details).toEqual(first.user_details);
        expect(third.user_details).toEqual(first.user_details);
        expect(casesByEventKey('343:u-replay:1:replay_node')).toHaveLength(1);
    });

    it('honours an explicit conversation_details.case_key across nodes and conversations', async () => {
        const first = await createCase('lead', {
            userId: 'u-key',
            node: 'a',
            conversationNo: 4,
            conversationDetails: { case_key: 'lead-u-key-campaign-7' }
        });
        const second = await createCase('lead', {
            userId: 'u-key',
            node: 'b',
            conversationNo: 5,
            conversationDetails: { case_key: 'lead-u-key-campaign-7' }
        });
        expect(second.user_details['case_id']).toBe(first.user_details['case_id']);
        expect(casesByEventKey('343:u-key:%key:lead-u-key-campaign-7')).toHaveLength(1);
    });

    it('never gives one user the Case of another who sent the same case_key', async () => {
        const caseKey = 'campaign-7-shared';
        const mine = await createCase('lead', { userId: 'u-key-a', conversationDetails: { case_key: caseKey } });
        const theirs = await createCase('lead', { userId: 'u-key-b', conversationDetails: { case_key: caseKey } });
        expect(mine.user_details['case_number']).toEqual(expect.any(String));
        expect(theirs.user_details['case_number']).toEqual(expect.any(String));
        expect(theirs.user_details['case_number']).not.toBe(mine.user_details['case_number']);
        expect(casesByEventKey(`343:u-key-a:%key:${caseKey}`)).toHaveLength(1);
        expect(casesByEventKey(`343:u-key-b:%key:${caseKey}`)).toHaveLength(1);
    });

    it('keeps two long case_keys that differ only after 255 characters apart', async () => {
        const long = 'x'.repeat(300);
        const first = await createCase('lead', { userId: 'u-long', conversationDetails: { case_key: `${long}-1` } });
        const second = await createCase('lead', { userId: 'u-long', conversationDetails: { case_key: `${long}-2` } });
        expect(second.user_details['case_id']).not.toBe(first.user_details['case_id']);
        const keys = sandbox.salesforce
            .records('Case')
            .filter((c) => c['Id'] === first.user_details['case_id'] || c['Id'] === second.user_details['case_id'])
            .map((c) => String(c['Haptik_Event_Key__c']));
        expect(keys).toHaveLength(2);
        for (const key of keys) expect(key.length).toBeLessThanOrEqual(255);
    });

    it('links the Case to the Contact the CRM lookup finds', async () => {
        const contact = sandbox.salesforce.insert('Contact', {
            FirstName: 'Meera',
            LastName: 'Iyer',
            Email: 'meera.iyer@example.com'
        });
        const answer = await createCase('service_request', {
            userId: 'u-crm',
            node: 'crm_node',
            userDetails: { email: 'meera.iyer@example.com' }
        });
        expect(answer.status).toBe(true);
        const [record] = casesByEventKey('343:u-crm:1:crm_node');
        expect(record?.['ContactId']).toBe(contact['Id']);
    });

    it('does not link a Lead', async () => {
        sandbox.salesforce.insert('Lead', {
            FirstName: 'Lena',
            LastName: 'Lead',
            Company: 'Lead Co',
            Email: 'lena.lead@example.com'
        });
        await createCase('lead', {
            userId: 'u-lead',
            node: 'lead_node',
            userDetails: { email: 'lena.lead@example.com' }
        });
        const [record] = casesByEventKey('343:u-lead:1:lead_node');
        expect(record).toBeDefined();
        expect(record?.['ContactId'] ?? null).toBeNull();
        expect(record?.['AccountId'] ?? null).toBeNull();
    });

    it('still creates the Case when the CRM lookup fails', async () => {
        // The lookup's search meets every one of its tries with a 503, then Salesforce recovers for the Case.
        sandbox.salesforce.failNext(4, { status: 503 });
        const answer = await createCase('service_request', {
            userId: 'u-crm-down',
            node: 'crm_down_node',
            userDetails: { email: 'nobody.crm.down@example.com' }
        });
        expect(answer.status).toBe(true);
        const [record] = casesByEventKey('343:u-crm-down:1:crm_down_node');
        expect(record).toBeDefined();
        expect(record?.['ContactId'] ?? null).toBeNull();
        expect(answer.user_details).toEqual({ case_number: record?.['CaseNumber'], case_id: record?.['Id'] });
        expect(sandbox.salesforce.requests.filter((r) => r.status === 503).length).toBeGreaterThanOrEqual(4);
    });

    it('answers pending while Salesforce is down, then the job lands and a replay gets the number', async () => {
        // No email or phone: the CRM lookup has nothing to search, so every 503 hits the Case write.
        sandbox.salesforce.failNext(12, { status: 503 });
        const request = { userId: 'u-outage', node: 'outage_node', authId: '' };
        const pending = await createCase('service_request', request);
        expect(pending.status).toBe(true);
        expect(pending.user_details).toEqual({ case_pending: 'true' });
        expect(pending.response.map((r) => hslToPlainText(r))).toEqual([
            'We have your request and will confirm its number shortly'
        ]);
        const record = await eventually(() => casesByEventKey('343:u-outage:1:outage_node')[0], 30_000);
        const replay = await createCase('service_request', request);
        expect(replay.user_details).toEqual({ case_number: record['CaseNumber'], case_id: record['Id'] });
        expect(casesByEventKey('343:u-outage:1:outage_node')).toHaveLength(1);
    });

    it('answers status false with case_error when Salesforce rejects the Case', async () => {
        sandbox.salesforce.failValidation('Case', {
            errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
            message: 'Subject must name the product',
            fields: ['Subject'],
            times: 1
        });
        const answer = await createCase('enquiry', { userId: 'u-invalid', node: 'invalid_node', authId: '' });
        expect(answer.status).toBe(false);
        expect(answer.user_details).toEqual({ case_error: 'bridge_salesforce_api_error' });
        expect(casesByEventKey('343:u-invalid:1:invalid_node')).toHaveLength(0);
    });
});
