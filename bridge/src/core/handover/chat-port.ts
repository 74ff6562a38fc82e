/**
 * The port between the handover core and a Salesforce chat API. Three adapters implement it: the Enhanced
 * Chat API (Messaging for In-App and Web; the default), the legacy Chat REST API (Live Agent) and Bring Your
 * Own Channel (Interaction Service API + Pub/Sub API).
 * The core never sees HTTP, SSE or long polls: it opens a chat, sends, and receives ChatEvents.
 */

/** What the adapter needs to start a chat; everything a person or a router might read is in `context`. */
export interface OpenChatRequest {
    /** The bridge's handover session id; adapters may use it as the client-generated conversation id. */
    handoverId: string;
    /** Haptik conversation key `<business_id>:<user_id>:<conversation_no>`. */
    conversationKey: string;
    /** Display name of the user for the agent. */
    visitorName: string;
    language: string;
    /** Routing / pre-chat attributes (already mapped to the deployment's field names). */
    routingAttributes: Record<string, string>;
    /** The conversation's Case, when one exists (to link the chat record to it). */
    caseId?: string;
    /**
     * Stores a partial state durably before the adapter asks Salesforce for the chat, so that an open run
     * again after a crash continues that chat instead of asking for a second one.
     */
    saveProgress?: (state: ChatSessionState) => Promise<void>;
    /** What an earlier, cut-off run of this open saved with saveProgress: continue from it. */
    previous?: ChatSessionState;
}

/**
 * The adapter's resumable state: persisted by the core after every change (in the same transaction as
 * the effects of the events it acknowledges) and handed back to `resume` after a restart.
 */
export interface ChatSessionState {
    /** Adapter-specific, JSON-serialisable (tokens, ids, sequence numbers). */
    data: Record<string, unknown>;
    /** Position in the event stream up to which events were processed (SSE Last-Event-Id, long-poll ack). */
    cursor: string | null;
}

export type ChatEvent =
    | { type: 'queued'; position?: number; estimatedWaitSeconds?: number }
    | { type: 'agent_joined'; agentName: string }
    | { type: 'agent_message'; messageId: string; text: string; agentName?: string }
    | { type: 'agent_typing'; typing: boolean }
    /** An agent transferred the chat; the session goes on. */
    | { type: 'transferring'; toName?: string }
    /** An agent left, without the session ending (e.g. during a transfer). */
    | { type: 'agent_left'; agentName?: string }
    | { type: 'ended'; by: 'agent' | 'user' | 'system' }
    /** Routing found no agent, or the chat could not be created. */
    | { type: 'failed'; reason: 'no_agents' | 'routing_failed' | 'rejected'; detail?: string };

/** One event with the stream position after it; the core persists the cursor once the event is handled. */
export interface ChatEventEnvelope {
    handoverId: string;
    event: ChatEvent;
    cursor: string | null;
    /** Updated adapter state to persist with the cursor, when it changed (e.g. a new token). */
    state?: ChatSessionState;
    /**
     * The Salesforce chat record (MessagingSession / LiveChatTranscript id) once the adapter knows it,
     * e.g. from the routing result's `recordId`; the core then sets its `CaseId` (contract §4).
     * Sending it on more than one event is fine.
     */
    chatRecordId?: string;
}

/** Called for each event, in stream order per handover; the adapter waits for it before the next one. */
export type ChatEventSink = (envelope: ChatEventEnvelope) => Promise<void>;

export interface ChatAdapter {
    readonly kind: 'enhanced' | 'legacy' | 'byoc';
    /**
     * Whether the user may write before an agent joins. Enhanced Chat queues such messages for the agent;
     * Live Agent refuses them (500) until ChatEstablished, so the core holds them and the briefing and sends
     * them, in order, when the agent joins.
     */
    readonly sendsBeforeAgentJoins: boolean;
    /** Starts a chat and its event stream; resolves once Salesforce accepted it. */
    open(request: OpenChatRequest): Promise<ChatSessionState>;
    /** Starts receiving events again after a restart, from `state.cursor`. */
    resume(handoverId: string, state: ChatSessionState): Promise<void>;
    /** `messageId` is stable across retries so Salesforce (or the emulator) can drop a repeat. */
    sendMessage(
        handoverId: string,
        state: ChatSessionState,
        message: { messageId: string; text: string }
    ): Promise<void>;
    sendTyping(handoverId: string, state: ChatSessionState, typing: boolean): Promise<void>;
    /** Ends the Salesforce session (the user or the bot ended the chat). */
    end(handoverId: string, state: ChatSessionState): Promise<void>;
    /** Stops the stream of one handover (it ended) without ending it in Salesforce. */
    detach(handoverId: string): void;
    /** Events of every handover go to the sink. */
    onEvent(sink: ChatEventSink): void;
    /** Stops all streams (shutdown); sessions stay open in Salesforce and are resumed later. */
    close(): Promise<void>;
}
