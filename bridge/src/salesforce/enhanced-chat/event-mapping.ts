/**
 * Turns one Enhanced Chat SSE event (salesforce.md §3.2) into the ChatEvents the handover core reads.
 * Pure: the stream passes in what it knows of the conversation so far (agent present, session ended),
 * because a ParticipantChanged remove means "agent left" during a transfer but nothing after the end.
 */
import type { ChatAttachment, ChatEvent } from '../../core/handover/chat-port';

export interface ConversationView {
    /** The agent currently in the chat, when one joined. */
    agentName?: string;
    /** A terminal event (`ended` / `failed`) was already produced; everything after it is ignored. */
    finished: boolean;
}

export interface MappedEvent {
    events: ChatEvent[];
    view: ConversationView;
    /** The MessagingSession id from a routing result (`recordId`), so the core can set its CaseId. */
    messagingSessionId?: string;
    /** Why nothing came out, for debug logs (never message text). */
    ignored?: string;
}

interface Participant {
    role?: unknown;
}
interface ParticipantEntry {
    operation?: unknown;
    participant?: Participant;
    displayName?: unknown;
}

const AGENT_ROLES = new Set(['Agent', 'Supervisor']);
const REPLY_ROLES = new Set(['Agent', 'Supervisor', 'Chatbot']);
const ROUTING_FAILURES = new Set(['Unknown', 'SubmissionError', 'RoutingError']);

const asRecord = (value: unknown): Record<string, unknown> | undefined =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : undefined;

const asString = (value: unknown): string | undefined =>
    typeof value === 'string' && value !== '' ? value : undefined;

const nonNegative = (value: unknown): number | undefined =>
    typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;

/** The readable text of a message entry: static text, or the chosen/offered options of a choices message. */
function messageText(abstractMessage: Record<string, unknown> | undefined): string | undefined {
    if (!abstractMessage) return undefined;
    const staticContent = asRecord(abstractMessage.staticContent);
    const text = asString(staticContent?.text);
    if (text !== undefined) return text;
    const choices = asRecord(abstractMessage.choices) ?? asRecord(abstractMessage.choicesResponse);
    const title = asString(asRecord(choices?.text)?.text) ?? asString(choices?.text);
    const options = Array.isArray(choices?.optionItems) ? choices.optionItems : [];
    const labels = options
        .map((o) => asString(asRecord(asRecord(o)?.titleItem)?.title) ?? asString(asRecord(o)?.title))
        .filter((t): t is string => t !== undefined);
    const parts = [title, ...labels.map((l, i) => `${i + 1}. ${l}`)].filter((t): t is string => t !== undefined);
    return parts.length > 0 ? parts.join('\n') : undefined;
}

/**
 * The files of an `Attachments` message (issue 18): `staticContent.attachments[] {name, id, mimeType, url,
 * referenceId, attachmentUploadResult}`. An entry without an id or a URL cannot be fetched and is left out.
 */
function attachmentsOf(abstractMessage: Record<string, unknown> | undefined): ChatAttachment[] | undefined {
    const staticContent = asRecord(abstractMessage?.staticContent);
    if (staticContent?.formatType !== 'Attachments') return undefined;
    const list = Array.isArray(staticContent.attachments) ? staticContent.attachments : [];
    return list.flatMap((raw): ChatAttachment[] => {
        const item = asRecord(raw);
        const id = asString(item?.id);
        const url = asString(item?.url);
        if (id === undefined || url === undefined) return [];
        const referenceId = asString(item?.referenceId);
        return [
            {
                id,
                url,
                name: asString(item?.name) ?? id,
                contentType: asString(item?.mimeType)?.toLowerCase() ?? 'application/octet-stream',
                ...(referenceId === undefined ? {} : { referenceId })
            }
        ];
    });
}

function endedBy(role: unknown): 'agent' | 'user' | 'system' {
    if (role === 'EndUser') return 'user';
    if (typeof role === 'string' && AGENT_ROLES.has(role)) return 'agent';
    return 'system';
}

/**
 * Maps one SSE event. `data` is the raw `data:` text; `entryPayload` inside it is itself a JSON string.
 * Unknown event types, pings, the end user's own echoed messages and receipts produce no events.
 */
export function mapEnhancedChatEvent(
    eventType: string,
    data: string,
    view: ConversationView,
    conversationId: string
): MappedEvent {
    const none = (ignored: string): MappedEvent => ({ events: [], view, ignored });
    if (view.finished) return none('after_end');
    let envelope: Record<string, unknown> | undefined;
    let payload: Record<string, unknown> | undefined;
    try {
        envelope = asRecord(JSON.parse(data));
        const entry = asRecord(envelope?.conversationEntry);
        const rawPayload = entry?.entryPayload;
        payload = asRecord(typeof rawPayload === 'string' ? JSON.parse(rawPayload) : rawPayload);
    } catch {
        return none('malformed');
    }
    const entry = asRecord(envelope?.conversationEntry);
    if (!envelope || !entry || !payload) return none('malformed');
    const eventConversation = asString(envelope.conversationId);
    if (eventConversation !== undefined && eventConversation.toLowerCase() !== conversationId.toLowerCase()) {
        return none('other_conversation');
    }
    const sender = asRecord(entry.sender);
    const role = sender?.role;

    switch (eventType) {
        case 'CONVERSATION_ROUTING_RESULT': {
            const recordId = asString(payload.recordId);
            const withRecord = (result: MappedEvent): MappedEvent =>
                recordId === undefined ? result : { ...result, messagingSessionId: recordId };
            const failureType = asString(payload.failureType);
            if (failureType !== undefined && ROUTING_FAILURES.has(failureType)) {
                const detail = asString(payload.failureReason) ?? failureType;
                return withRecord({
                    events: [{ type: 'failed', reason: 'routing_failed', detail }],
                    view: { ...view, finished: true }
                });
            }
            if (payload.routingType === 'Transfer') {
                return withRecord({ events: [{ type: 'transferring' }], view });
            }
            if (view.agentName !== undefined) return withRecord(none('routed_with_agent'));
            const wait = nonNegative(asRecord(payload.estimatedWaitTime)?.estimatedWaitTimeInSeconds);
            return withRecord({
                events: [{ type: 'queued', ...(wait === undefined ? {} : { estimatedWaitSeconds: wait }) }],
                view
            });
        }
        case 'CONVERSATION_QUEUE_POSITION': {
            if (view.agentName !== undefined) return none('queue_position_with_agent');
            const position = nonNegative(payload.queuePosition ?? payload.position);
            if (position === undefined) return none('no_position');
            return { events: [{ type: 'queued', position }], view };
        }
        case 'CONVERSATION_PARTICIPANT_CHANGED': {
            const entries = Array.isArray(payload.entries) ? (payload.entries as ParticipantEntry[]) : [];
            const events: ChatEvent[] = [];
            let next = view;
            for (const change of entries) {
                const participantRole = change.participant?.role;
                if (typeof participantRole !== 'string' || !AGENT_ROLES.has(participantRole)) continue;
                const name = asString(change.displayName) ?? asString(entry.senderDisplayName) ?? 'Agent';
                if (change.operation === 'add') {
                    events.push({ type: 'agent_joined', agentName: name });
                    next = { ...next, agentName: name };
                } else if (change.operation === 'remove') {
                    events.push({ type: 'agent_left', agentName: name });
                    const { agentName: _gone, ...rest } = next;
                    next = rest;
                }
            }
            return events.length > 0 ? { events, view: next } : none('not_an_agent');
        }
        case 'CONVERSATION_MESSAGE': {
            if (typeof role !== 'string' || !REPLY_ROLES.has(role)) return none('not_from_agent');
            const messageId = asString(entry.identifier) ?? asString(payload.id);
            const abstractMessage = asRecord(payload.abstractMessage);
            const text = messageText(abstractMessage);
            const agentName = asString(entry.senderDisplayName);
            const attachments = attachmentsOf(abstractMessage);
            if (messageId !== undefined && attachments !== undefined && attachments.length > 0) {
                return {
                    events: [
                        {
                            type: 'agent_attachment',
                            messageId,
                            attachments,
                            ...(text === undefined ? {} : { text }),
                            ...(agentName === undefined ? {} : { agentName })
                        }
                    ],
                    view
                };
            }
            if (messageId === undefined || text === undefined) return none('unsupported_message');
            return {
                events: [{ type: 'agent_message', messageId, text, ...(agentName === undefined ? {} : { agentName }) }],
                view
            };
        }
        case 'CONVERSATION_TYPING_STARTED_INDICATOR':
        case 'CONVERSATION_TYPING_STOPPED_INDICATOR':
            if (role === 'EndUser') return none('own_typing');
            return { events: [{ type: 'agent_typing', typing: eventType.includes('STARTED') }], view };
        case 'CONVERSATION_SESSION_STATUS_CHANGED': {
            if (payload.sessionStatus !== 'Ended') return none('session_not_ended');
            return {
                events: [{ type: 'ended', by: endedBy(payload.sessionEndedByRole) }],
                view: { ...view, finished: true }
            };
        }
        case 'CONVERSATION_CLOSE_CONVERSATION':
            return { events: [{ type: 'ended', by: 'user' }], view: { ...view, finished: true } };
        default:
            return none('unknown_type');
    }
}
