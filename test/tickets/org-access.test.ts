import { integrationRequest, webhookConversationComplete } from '../emulators/haptik/haptik-sender';
import { startSandbox } from '../emulators/sandbox';
import type { Sandbox } from '../emulators/sandbox';
import { makeId, shippedIntegrationUser } from '../emulators/salesforce';
import type { SfRecord } from '../emulators/salesforce';
import { eventually } from '../support/eventually';

/**
 * The bridge against an org set up as the admin guide says: its user is the integration user of the shipped
 * permission sets, Case sharing is Private, the shipped sharing rule shares the bridge's Cases with the shipped
 * group, and an active assignment rule sends new Cases to a support queue. Every grant is needed, Cases the
 * org hands to a queue or an agent stay reachable, and the default picklist values exist in every org.
 */
const SUPPORT_QUEUE = makeId('00G', 7);
const AGENT = makeId('005', 42);
let sandbox: Sandbox;

beforeAll(async () => {
    sandbox = await startSandbox({
        salesforce: { caseAssignmentRule: { ownerId: SUPPORT_QUEUE } },
        mapping: {
            cases: {
                templates: {
                    // An admin's template that asks for the org's assignment rules.
                    routed_request: { subject: 'Routed: {entities.order_id}', assignmentRules: true },
                    chatbot_origin: { origin: 'Chatbot' }
                }
            }
        },
        outbox: { pollIntervalMs: 50, backoff: { baseMs: 10, maxMs: 50 }, maxAttempts: 3 }
    });
    sandbox.salesforce.insert('Contact', {
        FirstName: 'Asha',
        LastName: 'Rao',
        Email: 'asha.rao@example.com',
        MobilePhone: '+1 415 555 0101'
    });
});

afterEach(() => {
    sandbox.salesforce.setIntegrationUser(shippedIntegrationUser());
    sandbox.salesforce.setCaseAssignmentRule({ ownerId: SUPPORT_QUEUE });
    sandbox.salesforce.restrictPicklist('Case', 'Origin', null);
    sandbox.salesforce.restrictPicklist('Case', 'Priority', null);
});

afterAll(async () => {
    await sandbox.stop();
});

interface Answer {
    status: boolean;
    user_details: Record<string, unknown>;
}

async function lookupByEmail(email: string): Promise<Answer> {
    const result = await sandbox.send.customer(integrationRequest({ userId: `u-${email}`, userDetails: { email } }));
    expect(result.status).toBe(200);
    return result.body as Answer;
}

async function createCase(template: string, userId: string): Promise<Answer> {
    const result = await sandbox.send.caseEvent(
        template,
        integrationRequest({ userId, node: `node_${userId}`, entities: { order_id: `O-${userId}` } })
    );
    expect(result.status).toBe(200);
    return result.body as Answer;
}

const caseByEventKey = (userId: string): SfRecord | undefined =>
    sandbox.salesforce.records('Case').find((c) => c['Haptik_Event_Key__c'] === `343:${userId}:1:node_${userId}`);

const errorsSince = (from: number): string[] =>
    sandbox.salesforce.requests.slice(from).flatMap((r) => (r.errorCode === undefined ? [] : [r.errorCode]));

describe('least privilege: the shipped permission sets, and not one grant less', () => {
    it('looks customers up and makes Cases as the integration user', async () => {
        expect((await lookupByEmail('asha.rao@example.com')).user_details).toMatchObject({
            crm_found: 'true',
            first_name: 'Asha',
            phone: '+1 415 555 0101'
        });
        const answer = await createCase('service_request', 'u-ok');
        expect(answer.status).toBe(true);
        expect(caseByEventKey('u-ok')).toMatchObject({ Origin: 'Web', Priority: 'Medium', SuppliedName: 'Asha Rao' });
    });

    it.each([
        ['Contact.Email', 'the lookup by email', 'INVALID_FIELD'],
        ['Contact.MobilePhone', 'the lookup, which reads every phone', 'INVALID_FIELD'],
        ['Contact', 'the lookup (no access to Contact at all)', 'INVALID_TYPE']
    ])('without %s, %s fails as Salesforce fails it', async (grant, _what, errorCode) => {
        // A customer of its own, so no cached answer stands in for Salesforce.
        const email = `${grant.replace(/\W/g, '').toLowerCase()}@example.com`;
        sandbox.salesforce.insert('Contact', { FirstName: 'Ravi', LastName: 'Iyer', Email: email });
        sandbox.salesforce.setIntegrationUser(shippedIntegrationUser({ without: [grant] }));
        const from = sandbox.salesforce.requests.length;
        const answer = await lookupByEmail(email);
        expect(answer.status).toBe(false);
        expect(answer.user_details).toMatchObject({ crm_found: 'false' });
        expect(errorsSince(from)).toContain(errorCode);
    });

    it.each([
        ['Case.Subject', 'INVALID_FIELD'],
        ['Case.Haptik_User_Id__c', 'INVALID_FIELD'],
        ['Case.Haptik_Event_Key__c', 'NOT_FOUND']
    ])('without %s no Case is made (Salesforce answers %s)', async (grant, errorCode) => {
        sandbox.salesforce.setIntegrationUser(shippedIntegrationUser({ without: [grant] }));
        const userId = `u-no-${grant.replace(/\W/g, '')}`;
        const from = sandbox.salesforce.requests.length;
        const answer = await createCase('service_request', userId);
        expect(answer.status).toBe(false);
        expect(caseByEventKey(userId)).toBeUndefined();
        expect(errorsSince(from)).toContain(errorCode);
    });

    it('a field granted read but not edit answers INVALID_FIELD_FOR_INSERT_UPDATE', async () => {
        const user = shippedIntegrationUser();
        user.fields['Case.Origin'] = { read: true, edit: false };
        sandbox.salesforce.setIntegrationUser(user);
        const from = sandbox.salesforce.requests.length;
        expect((await createCase('service_request', 'u-read-only')).status).toBe(false);
        expect(errorsSince(from)).toContain('INVALID_FIELD_FOR_INSERT_UPDATE');
    });
});

describe('ownership and Private sharing', () => {
    it('runs the assignment rules only for a template that asks, and still answers with the Case number', async () => {
        const plain = await createCase('service_request', 'u-plain');
        expect(caseByEventKey('u-plain')?.['OwnerId']).toBe(sandbox.salesforce.userId);
        expect(plain.user_details['case_number']).toEqual(expect.any(String));

        const routed = await createCase('routed_request', 'u-routed');
        const record = caseByEventKey('u-routed');
        expect(record?.['OwnerId']).toBe(SUPPORT_QUEUE);
        // The queue owns it, yet the shipped sharing rule lets the bridge read its number.
        expect(routed.user_details).toEqual({ case_number: record?.['CaseNumber'], case_id: record?.['Id'] });
        const headers = sandbox.salesforce.requests
            .filter((r) => r.method === 'PATCH' || r.method === 'POST')
            .filter((r) => r.kind === 'upsert' || r.kind === 'composite')
            .map((r) => r.autoAssign);
        expect(headers).toContain('TRUE');
        expect(headers.filter((h) => h !== 'TRUE' && h !== 'FALSE')).toEqual([]);
    });

    it('without the sharing rule the queue-owned Case is out of sight', async () => {
        sandbox.salesforce.setIntegrationUser(shippedIntegrationUser({ groups: [] }));
        const answer = await createCase('routed_request', 'u-hidden');
        expect(caseByEventKey('u-hidden')?.['OwnerId']).toBe(SUPPORT_QUEUE);
        // Created, but the bridge cannot read it back: the bot hears "pending" instead of a number.
        expect(answer.user_details).toMatchObject({ case_pending: 'true' });
    });

    async function transcriptOnAgentOwnedCase(userId: string): Promise<SfRecord> {
        const key = `343:${userId}:1`;
        // The handover Case, which the org's routing gave to the support queue and an agent then took.
        const handoverCase = sandbox.salesforce.insert('Case', {
            Subject: 'Chat with Asha Rao on WhatsApp',
            Origin: 'Web',
            Haptik_Conversation_Key__c: key,
            OwnerId: AGENT
        });
        sandbox.haptik.setChatHistory(`h-${userId}`, 1, [
            { text: 'I need help with my refund', sender: 'user', at: new Date('2026-11-25T10:00:00Z') }
        ]);
        const sent = await sandbox.send.webhook(
            webhookConversationComplete({
                userId,
                userName: `h-${userId}`,
                conversationNo: 1,
                devicePlatform: 14,
                userDetails: { name: 'Asha Rao' },
                completionType: 'agent'
            })
        );
        expect(sent.status).toBe(200);
        return handoverCase;
    }

    it('lands the transcript on a Case an agent owns, without handing it back to the queue', async () => {
        const handoverCase = await transcriptOnAgentOwnedCase('u-owned');
        const updated = await eventually(() => {
            const record = sandbox.salesforce.records('Case').find((c) => c['Id'] === handoverCase['Id']);
            return typeof record?.['Haptik_Transcript__c'] === 'string' ? record : undefined;
        });
        expect(updated['Haptik_Transcript__c']).toContain('I need help with my refund');
        // Sforce-Auto-Assign: FALSE on the update, so the active rule did not take the Case from the agent.
        expect(updated['OwnerId']).toBe(AGENT);
        expect(
            sandbox.salesforce.records('Case').filter((c) => c['Haptik_Conversation_Key__c'] === '343:u-owned:1')
        ).toHaveLength(1);
    });

    it('fails without the sharing rule: the hidden Case holds the key, so the upsert answers DUPLICATE_VALUE', async () => {
        sandbox.salesforce.setIntegrationUser(shippedIntegrationUser({ groups: [] }));
        const from = sandbox.salesforce.requests.length;
        const handoverCase = await transcriptOnAgentOwnedCase('u-unshared');
        await eventually(() => (errorsSince(from).includes('DUPLICATE_VALUE') ? true : undefined));
        const record = sandbox.salesforce.records('Case').find((c) => c['Id'] === handoverCase['Id']);
        expect(record?.['Haptik_Transcript__c'] ?? null).toBeNull();
    });
});

describe('default picklist values exist in every org', () => {
    it('creates every default Case with Origin and Priority restricted to the standard values', async () => {
        sandbox.salesforce.restrictPicklist('Case', 'Origin', ['Phone', 'Email', 'Web']);
        sandbox.salesforce.restrictPicklist('Case', 'Priority', ['High', 'Medium', 'Low']);
        for (const template of ['lead', 'enquiry', 'service_request']) {
            const answer = await createCase(template, `u-std-${template}`);
            expect(answer.status).toBe(true);
        }
    });

    it('rejects a custom Origin the org does not have, once the picklist is restricted', async () => {
        sandbox.salesforce.restrictPicklist('Case', 'Origin', ['Phone', 'Email', 'Web']);
        const from = sandbox.salesforce.requests.length;
        const answer = await createCase('chatbot_origin', 'u-chatbot');
        expect(answer.status).toBe(false);
        expect(errorsSince(from)).toContain('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');
        // After the admin adds Chatbot to the picklist (admin guide), the same template works.
        sandbox.salesforce.restrictPicklist('Case', 'Origin', ['Phone', 'Email', 'Web', 'Chatbot']);
        expect((await createCase('chatbot_origin', 'u-chatbot-2')).status).toBe(true);
        expect(caseByEventKey('u-chatbot-2')?.['Origin']).toBe('Chatbot');
    });
});
