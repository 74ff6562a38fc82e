/**
 * Builders for the Enhanced Chat (MIAW) conversation entries the emulator streams, in the shapes of
 * salesforce.md §3.2: SSE `data` is `{channelPlatformKey, channelType, channelAddressIdentifier,
 * conversationId, conversationEntry:{senderDisplayName, identifier, entryType, entryPayload, sender,
 * transcriptedTimestamp, clientTimestamp, relatedRecords}}` with `entryPayload` a JSON *string*.
 */
import { randomUUID } from 'node:crypto';

export type ParticipantRole = 'EndUser' | 'Agent' | 'Chatbot' | 'System' | 'Router' | 'Supervisor';

export type SseEventType =
    | 'CONVERSATION_MESSAGE'
    | 'CONVERSATION_ROUTING_RESULT'
    | 'CONVERSATION_PARTICIPANT_CHANGED'
    | 'CONVERSATION_TYPING_STARTED_INDICATOR'
    | 'CONVERSATION_TYPING_STOPPED_INDICATOR'
    | 'CONVERSATION_SESSION_STATUS_CHANGED'
    | 'CONVERSATION_CLOSE_CONVERSATION'
    | 'CONVERSATION_QUEUE_POSITION';

export interface Sender {
    role: ParticipantRole;
    subject: string;
    appType: string;
}

/** One stored conversation entry: what GET …/entries lists and what an SSE event carries. */
export interface ConversationEntry {
    senderDisplayName: string;
    identifier: string;
    entryType: string;
    entryPayload: string;
    sender: Sender;
    transcriptedTimestamp: number;
    clientTimestamp: number;
    relatedRecords: string[];
}

export interface StreamedEvent {
    /** Monotonic per conversation; the SSE `id:` line. */
    id: number;
    type: SseEventType;
    data: {
        channelPlatformKey: string;
        channelType: string;
        channelAddressIdentifier: string;
        conversationId: string;
        conversationEntry: ConversationEntry;
    };
}

export interface EntryInput {
    type: SseEventType;
    entryType: string;
    payload: Record<string, unknown>;
    sender: Sender;
    senderDisplayName: string;
    /** Defaults to a new UUID; a user's message keeps its own id. */
    identifier?: string;
    at: number;
}

export function buildEntry(input: EntryInput): ConversationEntry {
    const identifier = input.identifier ?? randomUUID();
    return {
        senderDisplayName: input.senderDisplayName,
        identifier,
        entryType: input.entryType,
        entryPayload: JSON.stringify({ entryType: input.entryType, id: identifier, ...input.payload }),
        sender: { ...input.sender },
        transcriptedTimestamp: input.at,
        clientTimestamp: input.at,
        relatedRecords: []
    };
}

export const textMessagePayload = (id: string, text: string): Record<string, unknown> => ({
    abstractMessage: {
        messageType: 'StaticContentMessage',
        id,
        staticContent: { formatType: 'Text', text }
    },
    messageReason: null
});

export interface RoutingResultInput {
    routingType: 'Initial' | 'Transfer';
    failureType: 'None' | 'Unknown' | 'SubmissionError' | 'RoutingError';
    failureReason?: string;
    estimatedWaitSeconds?: number;
    recordId: string;
    workOwnerId?: string;
}

export const routingResultPayload = (input: RoutingResultInput): Record<string, unknown> => ({
    routingType: input.routingType,
    failureType: input.failureType,
    ...(input.failureReason === undefined ? {} : { failureReason: input.failureReason }),
    estimatedWaitTime:
        input.estimatedWaitSeconds === undefined
            ? { isEWTRequested: true }
            : { estimatedWaitTimeInSeconds: input.estimatedWaitSeconds, isEWTRequested: true },
    recordId: input.recordId,
    pendingServiceRoutingId: `0JR${input.recordId.slice(3)}`,
    ...(input.workOwnerId === undefined ? {} : { workOwnerId: input.workOwnerId }),
    isExternallyRouted: false,
    routingConfigurationDetails: null
});

export const participantChangedPayload = (
    operation: 'add' | 'remove',
    role: ParticipantRole,
    subject: string,
    displayName: string
): Record<string, unknown> => ({
    entries: [
        {
            operation,
            participant: { role, appType: role === 'Agent' ? 'agent' : 'chat', subject, clientIdentifier: subject },
            displayName
        }
    ]
});

export interface AttachmentInput {
    name: string;
    id: string;
    mimeType: string;
    url: string;
}

/**
 * An `Attachments` message (issue 18): `staticContent {formatType: "Attachments", text (may be null),
 * attachments[] {name, id, mimeType, url, referenceId, attachmentUploadResult}}`.
 */
export const attachmentMessagePayload = (
    id: string,
    text: string | null,
    attachments: readonly AttachmentInput[]
): Record<string, unknown> => ({
    abstractMessage: {
        messageType: 'StaticContentMessage',
        id,
        staticContent: {
            formatType: 'Attachments',
            text,
            attachments: attachments.map((a) => ({ ...a, referenceId: randomUUID(), attachmentUploadResult: null }))
        }
    },
    messageReason: null
});
