/**
 * Turns one message of a Live Agent `System/Messages` answer (salesforce.md §2.6) into the ChatEvents the
 * handover core reads. Pure: the loop passes in what it knows of the chat so far (an agent is present, a
 * terminal event was produced) and the message's stable id.
 */
import type { ChatEvent } from '../../core/handover/chat-port';

export interface LegacyChatView {
    agentName?: string;
    /** A terminal event (`ended` / `failed`) was produced; everything after it is ignored. */
    finished: boolean;
}

export interface MappedLegacyMessage {
    events: ChatEvent[];
    view: LegacyChatView;
    /** Why nothing came out, for debug logs (never message text). */
    ignored?: string;
}

const asRecord = (value: unknown): Record<string, unknown> =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

const asString = (value: unknown): string | undefined =>
    typeof value === 'string' && value !== '' ? value : undefined;

/** Queue positions and waits; Live Agent sends -1 for "not computable". */
const nonNegative = (value: unknown): number | undefined => {
    const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    return typeof number === 'number' && Number.isFinite(number) && number >= 0 ? Math.round(number) : undefined;
};

function queued(position: unknown, wait: unknown): ChatEvent {
    const p = nonNegative(position);
    const w = nonNegative(wait);
    return {
        type: 'queued',
        // Position 0 is what Salesforce reports once nobody waits ahead in some orgs; it says nothing new.
        ...(p === undefined || p === 0 ? {} : { position: p }),
        ...(w === undefined ? {} : { estimatedWaitSeconds: w })
    };
}

/**
 * Maps one message. `messageId` is the bridge's stable id for a ChatMessage (derived from its position in
 * the session's stream, so a message delivered again after a reconnect or restart carries the same id).
 */
export function mapLiveAgentMessage(
    type: string,
    rawMessage: unknown,
    view: LegacyChatView,
    messageId: string
): MappedLegacyMessage {
    const none = (ignored: string): MappedLegacyMessage => ({ events: [], view, ignored });
    if (view.finished) return none('after_end');
    const message = asRecord(rawMessage);
    switch (type) {
        case 'ChatRequestSuccess':
            if (view.agentName !== undefined) return none('queued_with_agent');
            return { events: [queued(message.queuePosition, message.estimatedWaitTime)], view };
        case 'QueueUpdate':
            if (view.agentName !== undefined) return none('queued_with_agent');
            return { events: [queued(message.position, message.estimatedWaitTime)], view };
        case 'ChatRequestFail':
            return {
                events: [
                    { type: 'failed', reason: 'no_agents', detail: asString(message.reason) ?? 'ChatRequestFail' }
                ],
                view: { ...view, finished: true }
            };
        case 'ChatEstablished': {
            const agentName = asString(message.name) ?? 'Agent';
            return { events: [{ type: 'agent_joined', agentName }], view: { ...view, agentName } };
        }
        case 'ChatTransferred': {
            // The new agent has already accepted: a notice, then the join (the chat goes on).
            const agentName = asString(message.name) ?? 'Agent';
            return {
                events: [
                    { type: 'transferring', toName: agentName },
                    { type: 'agent_joined', agentName }
                ],
                view: { ...view, agentName }
            };
        }
        case 'AgentTyping':
            return { events: [{ type: 'agent_typing', typing: true }], view };
        case 'AgentNotTyping':
            return { events: [{ type: 'agent_typing', typing: false }], view };
        case 'ChatMessage': {
            const text = typeof message.text === 'string' ? message.text : undefined;
            if (text === undefined || text === '') return none('empty_message');
            const agentName = asString(message.name) ?? view.agentName;
            return {
                events: [{ type: 'agent_message', messageId, text, ...(agentName === undefined ? {} : { agentName }) }],
                view
            };
        }
        case 'ChatEnded': {
            const reason = asString(message.reason);
            const by = reason === undefined || reason === 'agent' ? 'agent' : reason === 'client' ? 'user' : 'system';
            return { events: [{ type: 'ended', by }], view: { ...view, finished: true } };
        }
        default:
            // AgentDisconnect (the agent's connection dropped; they may come back), ChasitorSessionData (read by
            // the loop), CustomEvent, breadcrumbs, sensitive-data rules and types newer than the guide.
            return none('unknown_type');
    }
}
