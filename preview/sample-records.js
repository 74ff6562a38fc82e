// Sample records for the preview: a Messaging Session linked to a Case whose Haptik_Bot_Context__c
// holds a version 1 context (contract §4), plus a few Cases for the other states.
const CONTEXT = {
    version: 1,
    user: { name: 'Asha Verma', email: 'asha.verma@example.com', phone: '+91 98200 00000', language: 'en' },
    channel: 'WhatsApp',
    intent: 'refund_request',
    handoverReason: 'user asked for an agent',
    entities: [
        { name: 'order_id', value: 'A-1001' },
        { name: 'refund_amount', value: '1,499 INR' },
        { name: 'delivery_address', value: 'Flat 12B, Sunrise Apartments, Baner Road, Pune 411045, Maharashtra, India' }
    ],
    crm: { objectType: 'Contact', id: '003xx000004TmiQAAS', name: 'Asha Verma' },
    recentMessages: [
        { sender: 'user', text: 'My order A-1001 arrived damaged. I want a refund.', at: '2026-11-25T10:00:00Z' },
        { sender: 'bot', text: 'Sorry about that! Can you confirm the order number?', at: '2026-11-25T10:00:20Z' },
        { sender: 'user', text: 'A-1001. Please let me talk to a person.', at: '2026-11-25T10:00:45Z' },
        { sender: 'bot', text: 'Connecting you to an agent now.', at: '2026-11-25T10:01:00Z' }
    ]
};

const caseRecord = (id, caseNumber, context) => ({
    apiName: 'Case',
    id,
    fields: {
        CaseNumber: { value: caseNumber, displayValue: null },
        Haptik_Bot_Context__c: { value: context, displayValue: null }
    }
});

export const RECORDS = {
    '0Mwxx0000004C92CAE': {
        apiName: 'MessagingSession',
        id: '0Mwxx0000004C92CAE',
        fields: { CaseId: { value: '500xx000001Sv7KAAS', displayValue: null } }
    },
    '500xx000001Sv7KAAS': caseRecord('500xx000001Sv7KAAS', '00001043', JSON.stringify(CONTEXT)),
    '500xx000001Sv5GAAS': caseRecord('500xx000001Sv5GAAS', '00001042', null),
    '500xx000001Sv9XAAS': caseRecord('500xx000001Sv9XAAS', '00001044', '{"version": 1, "user": {"name": "Asha"')
};

/** A chat the bridge has not linked yet; the preview's linkCase() plays the bridge setting its CaseId. */
RECORDS['0Mwxx0000004C93CAE'] = {
    apiName: 'MessagingSession',
    id: '0Mwxx0000004C93CAE',
    fields: { CaseId: { value: null, displayValue: null } }
};

export function linkCase(chatId, caseId) {
    RECORDS[chatId].fields.CaseId = { value: caseId, displayValue: null };
}

export const SCENARIOS = {
    messagingSession: {
        label: 'Messaging Session linked to a Case',
        recordId: '0Mwxx0000004C92CAE',
        objectApiName: 'MessagingSession'
    },
    case: { label: 'Case with bot context', recordId: '500xx000001Sv7KAAS', objectApiName: 'Case' },
    empty: { label: 'Case without bot context', recordId: '500xx000001Sv5GAAS', objectApiName: 'Case' },
    malformed: { label: 'Case with malformed JSON', recordId: '500xx000001Sv9XAAS', objectApiName: 'Case' },
    linkLater: {
        label: 'Messaging Session the bridge links to its Case later (run previewLinkCase() in the console)',
        recordId: '0Mwxx0000004C93CAE',
        objectApiName: 'MessagingSession'
    }
};
