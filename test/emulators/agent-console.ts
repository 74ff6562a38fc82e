/**
 * The Service Console agent's side of a chat emulator, as handover tests and the demo drive it. Both the
 * Enhanced Chat emulator and the Live Agent (legacy Chat REST) emulator implement it, so one scenario can
 * run against either adapter. What only one API has (SSE streams, affinity changes) stays on that emulator.
 */

/** Salesforce's agent-side status of a chat, in the Enhanced Chat names (Live Agent maps onto them). */
export type AgentChatStatus = 'Waiting' | 'Active' | 'Ended';

export interface AgentChatView {
    /** The id the control calls take: the Enhanced Chat conversation id, or the Live Agent session id. */
    conversationId: string;
    /** Routing attributes (Enhanced Chat) or pre-chat details as label → value (Live Agent). */
    routingAttributes: Record<string, unknown>;
    status: AgentChatStatus;
    agentName?: string;
    /** Haptik conversation key, when the chat carries it apart from the routing attributes (Live Agent). */
    conversationKey?: string;
}

/** What the end user (the bridge) sent to the agent, in order, each once. */
export interface AgentSideMessage {
    id: string;
    text: string;
    at: number;
}

/** A failure both emulators can inject into the next user → agent message calls. */
export interface SharedChatFailure {
    on: 'message';
    status: 503;
}

export interface AgentConsole {
    readonly url: string;
    /** Whether agents are online for the deployment (offline: the chat waits, or fails at once on Live Agent). */
    setAvailability(available: boolean): void;
    /** The wait estimate (seconds) and queue position told to new and waiting chats. */
    setWaitTime(seconds: number | undefined, queuePosition?: number): void;
    accept(conversationId: string, agentName: string): void;
    /** Returns the id the bridge sees for this message, when the API gives one. */
    agentMessage(conversationId: string, text: string): string;
    agentTyping(conversationId: string, on: boolean): void;
    transfer(conversationId: string, toAgentName: string): void;
    end(conversationId: string): void;
    routingFailure(conversationId: string, reason?: string): void;
    failNext(count: number, failure: SharedChatFailure): void;
    conversations(): AgentChatView[];
    messagesFrom(conversationId: string): AgentSideMessage[];
    readonly requests: ReadonlyArray<{ method: string; path: string; status: number; at: number }>;
    close(): Promise<void>;
}
