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
    /** An agent sent one or more files (a `formatType: "Attachments"` message), maybe with a caption. */
    | { type: 'agent_attachment'; messageId: string; attachments: ChatAttachment[]; text?: string; agentName?: string }
    | { type: 'agent_typing'; typing: boolean }
    /** An agent transferred the chat; the session goes on. */
    | { type: 'transferring'; toName?: string }
    /** An agent left, without the session ending (e.g. during a transfer). */
    | { type: 'agent_left'; agentName?: string }
    | { type: 'ended'; by: 'agent' | 'user' | 'system' }
    /** Routing found no agent, or the chat could not be created. */
    | { type: 'failed'; reason: 'no_agents' | 'routing_failed' | 'rejected'; detail?: string };

/** A file an agent sent, as the chat API describes it; the bytes stay in Salesforce until someone opens it. */
export interface ChatAttachment {
    /** The attachment's id in the chat. */
    id: string;
    name: string;
    /** `type/subtype` as Salesforce gave it (`application/octet-stream` when it gave none). */
    contentType: string;
    /** Where the chat API serves it; needs the chat's credentials and may expire (issue 18). */
    url: string;
    referenceId?: string;
    /** Bytes, when the chat API says (the transcript shows it; else the bridge learns it when it streams the file). */
    size?: number;
}

/** A user's file to upload into the chat; the body streams, it is never held whole. */
export interface OutgoingFile {
    /** The bridge's id of the user's message: stable across retries (the upload's message id derives from it). */
    messageId: string;
    fileName: string;
    contentType: string;
    /** Known size in bytes, when the source said. */
    contentLength?: number;
    /** The bytes (a Node stream is one); read once. */
    body: AsyncIterable<Uint8Array>;
    /** A caption sent with the file. */
    text?: string;
}

/** A file opened for reading from the chat API. */
export interface IncomingFile {
    body: AsyncIterable<Uint8Array>;
    contentType?: string;
    contentLength?: number;
}

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
    /**
     * Uploads a user's file into the chat (Enhanced Chat and BYOC; absent where the API has no visitor upload, as
     * Live Agent: there the core sends the file's link as text). One try per call, since the body streams once:
     * errors carry `details.retryable`; `bridge_chat_file_too_large` / `bridge_chat_file_type_refused` /
     * `bridge_chat_file_empty` / `bridge_chat_file_refused` (uploads off) are final and mean "send a link instead".
     */
    sendFile?(handoverId: string, state: ChatSessionState, file: OutgoingFile, signal?: AbortSignal): Promise<void>;
    /**
     * Opens an agent's attachment with the chat's credentials (for the signed file links); `contentType` is the
     * type the chat event gave, when known (BYOC tells a file from a "link no longer works" page by it).
     */
    openAttachment?(
        handoverId: string,
        state: ChatSessionState,
        attachment: Pick<ChatAttachment, 'url'> & Partial<Pick<ChatAttachment, 'contentType'>>,
        signal?: AbortSignal
    ): Promise<IncomingFile>;
    /** Ends the Salesforce session (the user or the bot ended the chat). */
    end(handoverId: string, state: ChatSessionState): Promise<void>;
    /** Stops the stream of one handover (it ended) without ending it in Salesforce. */
    detach(handoverId: string): void;
    /** Events of every handover go to the sink. */
    onEvent(sink: ChatEventSink): void;
    /** Stops all streams (shutdown); sessions stay open in Salesforce and are resumed later. */
    close(): Promise<void>;
}
