import { integrationRequest, webhookConversationComplete } from '../emulators/haptik/haptik-sender';
import { grantsOf, INTEGRATION_PERMISSION_SETS } from '../emulators/salesforce';
import { shippedFiles } from '../emulators/salesforce/access';
import { requestAgent, startHandoverSandbox, waitForState } from '../handover/harness';
import type { HandoverSandbox } from '../handover/harness';
import { eventually } from '../support/eventually';

/**
 * "Nothing more": every object permission and every field the integration user's permission sets grant is
 * relied on by some flow of the bridge (lookup by email and phone over Contact, person Account and Lead; Cases
 * from bot events with every standard field a template can map; the handover Case and the link on the Messaging
 * Session; the transcript). The emulator notes each grant a call needed; removing any of them fails that call
 * (org-access.test.ts shows it for single grants).
 */
let sandbox: HandoverSandbox;

beforeAll(async () => {
    sandbox = await startHandoverSandbox({
        salesforce: { personAccounts: true },
        mapping: {
            cases: {
                templates: {
                    // An admin's template that maps every standard Case field the bridge can write.
                    complaint: {
                        subject: 'Complaint: {entities.order_id}',
                        type: 'Other',
                        reason: 'Performance',
                        status: 'New',
                        suppliedCompany: '{user_details.company}'
                    }
                }
            },
            handover: { waitNoticeIntervalSeconds: 0, noAgentTimeoutSeconds: 600 }
        }
    });
    const account = sandbox.salesforce.insert('Account', { Name: 'Acme Ltd' });
    sandbox.salesforce.insert('Contact', {
        FirstName: 'Asha',
        LastName: 'Rao',
        Email: 'asha.rao@example.com',
        MobilePhone: '+91 98450 12345',
        AccountId: account['Id']
    });
    sandbox.salesforce.insert('Account', {
        FirstName: 'Vikram',
        LastName: 'Shah',
        PersonEmail: 'vikram.shah@example.com',
        PersonMobilePhone: '+91 98450 67890'
    });
    sandbox.salesforce.insert('Lead', {
        FirstName: 'Meera',
        LastName: 'Nair',
        Company: 'Nair Traders',
        Email: 'meera@example.com'
    });
}, 60_000);

afterAll(async () => {
    await sandbox.stop();
});

async function lookup(userId: string, userDetails: Record<string, unknown>): Promise<Record<string, unknown>> {
    const result = await sandbox.send.customer(integrationRequest({ userId, userDetails }));
    expect(result.status).toBe(200);
    return (result.body as { user_details: Record<string, unknown> }).user_details;
}

async function eventCase(template: string, userId: string, userDetails: Record<string, unknown>): Promise<void> {
    const result = await sandbox.send.caseEvent(
        template,
        integrationRequest({ userId, node: `node_${template}`, userDetails, entities: { order_id: 'A-1001' } })
    );
    expect(result.status).toBe(200);
    expect((result.body as { status: boolean }).status).toBe(true);
}

it('relies on every grant of the integration permission sets, and on nothing they do not grant', async () => {
    // Lookups: email (SOQL) and phone (SOSL) over Contact, person Account and Lead.
    expect(await lookup('u-lp-1', { email: 'asha.rao@example.com' })).toMatchObject({ crm_object: 'Contact' });
    expect(await lookup('u-lp-2', { phone: '+91 98450 67890' })).toMatchObject({ crm_object: 'Account' });
    expect(await lookup('u-lp-3', { email: 'meera@example.com' })).toMatchObject({ crm_object: 'Lead' });

    // Cases from bot events, linked to a Contact and to a person Account.
    await eventCase('complaint', 'u-lp-4', { email: 'asha.rao@example.com', name: 'Asha Rao', company: 'Acme' });
    await eventCase('service_request', 'u-lp-5', { email: 'vikram.shah@example.com', phone: '+91 98450 67890' });

    // A handover: the conversation Case with the bot context, linked to the agent's Messaging Session.
    const started = await requestAgent(
        sandbox,
        { userId: 'u-lp-6' },
        { userDetails: { email: 'asha.rao@example.com' } }
    );
    sandbox.chat.accept(started.conversationId, 'Priya');
    await waitForState(sandbox, started.handoverId, 'with_agent');
    const conversationCase = await eventually(() =>
        sandbox.salesforce.records('Case').find((c) => c['Haptik_Conversation_Key__c'] === '343:u-lp-6:1')
    );
    await eventually(() =>
        sandbox.salesforce.records('MessagingSession').find((s) => s['CaseId'] === conversationCase['Id'])
    );

    // The transcript on that Case when the conversation is complete.
    sandbox.haptik.setChatHistory('name_u-lp-6', 1, [
        { text: 'I want a refund', sender: 'user', at: new Date('2026-11-25T10:00:00Z') }
    ]);
    const complete = await sandbox.send.webhook(
        webhookConversationComplete({
            userId: 'u-lp-6',
            userName: 'name_u-lp-6',
            conversationNo: 1,
            completionType: 'agent'
        })
    );
    expect(complete.status).toBe(200);
    await eventually(() =>
        sandbox.salesforce
            .records('Case')
            .find((c) => c['Id'] === conversationCase['Id'] && typeof c['Haptik_Transcript__c'] === 'string')
    );

    const files = shippedFiles('.permissionset-meta.xml').filter((f) =>
        INTEGRATION_PERMISSION_SETS.some((name) => f.endsWith(`/${name}.permissionset-meta.xml`))
    );
    expect(files).toHaveLength(INTEGRATION_PERMISSION_SETS.length);
    const granted = grantsOf(files);
    const used = sandbox.salesforce.accessUsed();

    const grantedObjects = Object.fromEntries(
        Object.entries(granted.objects).map(([name, a]) => [name, { read: a.read, create: a.create, edit: a.edit }])
    );
    expect(used.objects).toEqual(grantedObjects);
    expect(used.fields).toEqual(granted.fields);
}, 90_000);
