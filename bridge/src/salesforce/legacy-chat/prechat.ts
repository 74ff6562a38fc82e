/**
 * The ChasitorInit body (salesforce.md §2.4): the bot context goes to the agent as labelled pre-chat details,
 * and pre-chat entities let Salesforce link the chat's LiveChatTranscript to the user's Contact (found by
 * email, never created) and to the conversation's Case (found by Haptik_Conversation_Key__c). The chat
 * REST API never tells the visitor the transcript's id, so this link is how contract §4's
 * `LiveChatTranscript.CaseId` gets set on the legacy API: Salesforce does the find when the agent accepts.
 */
import type { OpenChatRequest } from '../../core/handover/chat-port';

/** Label of the detail carrying the Haptik conversation key (the Case entity finds by it). */
export const CONVERSATION_KEY_LABEL = 'Haptik Conversation Key';

export interface PrechatOptions {
    orgId: string;
    deploymentId: string;
    buttonId: string;
    /** Detail label → LiveChatTranscript fields its value is copied into (mapping file). */
    transcriptFields: Readonly<Record<string, readonly string[]>>;
    /** The detail (routing attribute) holding the user's email, when one is mapped to `user.email`. */
    contactEmailDetail?: string;
}

interface CustomDetail {
    label: string;
    value: string;
    transcriptFields: string[];
    displayToAgent: boolean;
}

export function chasitorInitBody(
    request: OpenChatRequest,
    sessionId: string,
    options: PrechatOptions
): Record<string, unknown> {
    const details: CustomDetail[] = [
        {
            label: CONVERSATION_KEY_LABEL,
            value: request.conversationKey,
            transcriptFields: [...(options.transcriptFields[CONVERSATION_KEY_LABEL] ?? [])],
            displayToAgent: true
        }
    ];
    for (const [label, value] of Object.entries(request.routingAttributes)) {
        if (label === CONVERSATION_KEY_LABEL || value === '') continue;
        details.push({
            label,
            value,
            transcriptFields: [...(options.transcriptFields[label] ?? [])],
            displayToAgent: true
        });
    }
    const entities: Array<Record<string, unknown>> = [];
    const emailLabel = options.contactEmailDetail;
    if (emailLabel !== undefined && (request.routingAttributes[emailLabel] ?? '') !== '') {
        entities.push({
            entityName: 'Contact',
            showOnCreate: false,
            saveToTranscript: 'ContactId',
            entityFieldsMaps: [
                { fieldName: 'Email', label: emailLabel, doFind: true, isExactMatch: true, doCreate: false }
            ]
        });
    }
    entities.push({
        entityName: 'Case',
        showOnCreate: true,
        saveToTranscript: 'CaseId',
        entityFieldsMaps: [
            {
                fieldName: 'Haptik_Conversation_Key__c',
                label: CONVERSATION_KEY_LABEL,
                doFind: true,
                isExactMatch: true,
                doCreate: false
            }
        ]
    });
    return {
        organizationId: options.orgId,
        deploymentId: options.deploymentId,
        buttonId: options.buttonId,
        sessionId,
        userAgent: 'Haptik-Salesforce-Bridge',
        language: request.language,
        screenResolution: '',
        visitorName: request.visitorName,
        prechatDetails: details,
        prechatEntities: entities,
        buttonOverrides: [],
        receiveQueueUpdates: true,
        isPost: true
    };
}
