import type { ChatEventEnvelope } from '../core/handover/chat-port';
import type { HaptikIntegrationRequest, TractEventPayload, TractMessagePayload } from '../haptik/payloads';
import type { OutboxHandlers } from '../store/outbox-worker';
import { parseHandoverJob } from './handover-jobs';
import { applyInput } from './handover/apply-input';
import { linkCase } from './handover/case-link';
import { onChatEvent, resumeStream } from './handover/chat-events';
import { createHandoverContext } from './handover/context';
import type { HandoverServiceDeps, TractOutcome } from './handover/context';
import { endChat } from './handover/end-handover';
import { openChat } from './handover/open-chat';
import { startFromIntegration } from './handover/open-handover';
import type { HandoverAnswer } from './handover/open-handover';
import { onTractMessage, sendToAgent, sendTypingToAgent } from './handover/relay-to-agent';
import { onTractEvent } from './handover/tract-events';

export type { HandoverAnswer, HandoverServiceDeps, TractOutcome };

/**
 * Live-agent handover (issue 6): starts a chat with a Salesforce agent when the bot asks for one, relays
 * the user's and the agent's messages, and hands the user back to the bot when the chat ends.
 *
 * Durability: every input (trigger, TRACT message, chat event, timer) is handled in ONE transaction that
 * stores the new state, the adapter's state and cursor, the logged messages and the outbox jobs of its
 * effects (handover/apply-input.ts); the outbox makes the calls afterwards, in order per Haptik user and
 * per chat. Any instance takes any request; each open chat's event stream is read by one instance
 * (stream-ownership.ts), and the one that takes it over after a crash resumes it from its stored cursor; a
 * replayed agent message finds its entry id in the message log and is not sent again. Inputs of one
 * handover are serialised in this process, and the session row is locked, so two inputs never interleave
 * across processes either.
 *
 * The parts live in handover/, one per path the data takes: open-handover (trigger → session), open-chat
 * (job chat.open), relay-to-agent (user → agent), chat-events and relay-to-user (agent → user),
 * end-handover, notices, tract-events, case-link; all share one HandoverContext (context.ts).
 */
export interface HandoverService {
    /** `POST /haptik/integrations/handover`: answers at once with the text the user sees. */
    startFromIntegration(request: HaptikIntegrationRequest): Promise<HandoverAnswer>;
    /** TRACT `message/receive`: relays the user's message (once per message_id) or ends on the keyword. */
    onTractMessage(payload: TractMessagePayload, eventId: string): Promise<TractOutcome>;
    /** TRACT events: `collection_state`/`incomplete` starts a handover, `collection_state`/`complete` ends one. */
    onTractEvent(payload: TractEventPayload, eventId: string): Promise<TractOutcome>;
    /** The chat adapter's sink. */
    onChatEvent(envelope: ChatEventEnvelope): Promise<void>;
    /** Outbox handlers of the handover job kinds. */
    handlers: OutboxHandlers;
    /** Starts reading the stream of an open chat this instance took over, from its stored cursor. */
    resumeStream(handoverId: string): Promise<void>;
}

export function createHandoverService(deps: HandoverServiceDeps): HandoverService {
    const ctx = createHandoverContext(deps);
    return {
        startFromIntegration: (request) => startFromIntegration(ctx, request),
        onTractMessage: (payload, eventId) => onTractMessage(ctx, payload, eventId),
        onTractEvent: (payload, eventId) => onTractEvent(ctx, payload, eventId),
        onChatEvent: (envelope) => onChatEvent(ctx, envelope),
        resumeStream: (handoverId) => resumeStream(ctx, handoverId),
        handlers: {
            'chat.open': (raw) => openChat(ctx, raw),
            'chat.send_message': (raw, job) => sendToAgent(ctx, raw, job.prefetched),
            'chat.typing': (raw) => sendTypingToAgent(ctx, raw),
            'chat.end': (raw) => endChat(ctx, raw),
            'handover.timeout': async (raw) => {
                const p = parseHandoverJob('handover.timeout', raw);
                const { applied } = await applyInput(ctx, p.handoverId, { type: 'timeout' });
                return { timedOut: applied };
            },
            'handover.link_case': (raw) => linkCase(ctx, raw)
        }
    };
}
