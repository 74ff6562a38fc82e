/**
 * Reads the org's BYOC platform event (salesforce-misc/interaction-service-apis @ be9d014, README.md
 * "outbound-custom-event-payload.yaml" examples; salesforce.md §3.3) and turns its conversation entry into the
 * handover core's ChatEvents.
 *
 * The event's fields are the admin's custom fields: a payload field (a JSON string) and an event type field
 * (`Interaction`, or `RoutingRequested` for partner-owned routing). Their API names carry the org's own names and
 * namespace, so the payload is recognised by its content, not by its name. The payload comes in two documented
 * shapes: flat (the text message example: `{channelAddressIdentifier, recipient, senderDisplayName, identifier,
 * entryType, entryPayload, sender, …}`) and nested (the attachment example: `{conversationIdentifier,
 * channelAddressIdentifier, recipient, payload:{…the entry…}}`); both are read.
 *
 * The entries are the same conversation entries Enhanced Chat streams (one Messaging platform), so the mapping
 * itself is Enhanced Chat's (enhanced-chat/event-mapping.ts), fed with the entry under its SSE event name. That
 * includes an agent's files: the documented attachment example is a `Message` whose `staticContent` is
 * `{formatType: "Attachments", text, attachments: [{name, id, mimeType, url, referenceId, attachmentUploadResult}]}`,
 * which becomes an `agent_attachment` (an attachment without an id or a URL is left out). `MessageUpdated` (the
 * asynchronous result of an end user's upload) is not read: the bridge has nothing to tell the user from it.
 */
import { mapEnhancedChatEvent } from '../enhanced-chat/event-mapping';
import type { ConversationView, MappedEvent } from '../enhanced-chat/event-mapping';

export interface ByocEvent {
    /** The recipient's subject: the end user id the bridge sent as `from` (the chat). */
    endUserId: string;
    /** What byoc_events keeps: the entry and, when the event said it, the conversation identifier. */
    payload: { eventType: string; conversationIdentifier?: string; entry: Record<string, unknown> };
}

const asRecord = (value: unknown): Record<string, unknown> | undefined =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : undefined;

const parseJson = (value: unknown): Record<string, unknown> | undefined => {
    if (typeof value !== 'string' || !value.trimStart().startsWith('{')) return undefined;
    try {
        return asRecord(JSON.parse(value));
    } catch {
        return undefined;
    }
};

/** The event's payload and recipient; undefined when no field holds a conversation entry for an end user. */
export function parseByocEvent(fields: Record<string, unknown>): ByocEvent | undefined {
    let eventType = 'Interaction';
    let body: Record<string, unknown> | undefined;
    for (const [name, value] of Object.entries(fields)) {
        if (/EventType__c$/i.test(name) && typeof value === 'string') eventType = value;
        const parsed = parseJson(value);
        if (parsed !== undefined && ('recipient' in parsed || 'channelAddressIdentifier' in parsed)) body = parsed;
    }
    if (body === undefined) return undefined;
    const recipient = asRecord(body['recipient']) ?? asRecord(parseJson(body['recipient']));
    const endUserId = recipient?.['subject'];
    if (typeof endUserId !== 'string' || endUserId === '') return undefined;
    const nested = asRecord(body['payload']);
    const entry = nested ?? body;
    const conversationIdentifier = body['conversationIdentifier'] ?? nested?.['conversationIdentifier'];
    return {
        endUserId,
        payload: {
            eventType,
            ...(typeof conversationIdentifier === 'string' ? { conversationIdentifier } : {}),
            entry
        }
    };
}

/** The SSE event name Enhanced Chat streams the same entry type under. */
const SSE_TYPES: Record<string, string> = {
    Message: 'CONVERSATION_MESSAGE',
    RoutingResult: 'CONVERSATION_ROUTING_RESULT',
    ParticipantChanged: 'CONVERSATION_PARTICIPANT_CHANGED',
    TypingStartedIndicator: 'CONVERSATION_TYPING_STARTED_INDICATOR',
    TypingStoppedIndicator: 'CONVERSATION_TYPING_STOPPED_INDICATOR',
    SessionStatusChanged: 'CONVERSATION_SESSION_STATUS_CHANGED',
    QueuePosition: 'CONVERSATION_QUEUE_POSITION'
};

/** Maps one stored event; `RoutingRequested` (partner-owned routing, CCaaS) and unknown entries give nothing. */
export function mapByocEvent(payload: ByocEvent['payload'], view: ConversationView): MappedEvent {
    if (payload.eventType !== 'Interaction') return { events: [], view, ignored: 'not_an_interaction' };
    const entryType = typeof payload.entry['entryType'] === 'string' ? payload.entry['entryType'] : '';
    const sseType = SSE_TYPES[entryType];
    if (sseType === undefined) return { events: [], view, ignored: 'unknown_entry' };
    return mapEnhancedChatEvent(sseType, JSON.stringify({ conversationEntry: payload.entry }), view, '');
}
