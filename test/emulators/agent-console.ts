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

/** A JSON control route under `/__emulator/`: an answer, or undefined when the route is not this one's. */
export type ControlRoute = (
    method: string,
    parts: { what?: string; id?: string; action?: string },
    body: Record<string, unknown>
) => [number, unknown] | undefined;

/**
 * The agent console's JSON control routes, the same on both chat emulators (so the demo and a person with
 * curl drive either alike): reads of chats, messages, requests and stats, the agent's actions on a chat,
 * availability and wait time. `own` answers what only one emulator has (fault injection, SSE or affinity).
 */
export function agentConsoleRoutes(
    agent: AgentConsole,
    stats: () => unknown,
    own: ControlRoute
): (method: string, path: string[], body: Record<string, unknown>) => [number, unknown] {
    return (method, path, body) => {
        const [what, id, action] = path.map(decodeURIComponent);
        const parts = {
            ...(what === undefined ? {} : { what }),
            ...(id === undefined ? {} : { id }),
            ...(action === undefined ? {} : { action })
        };
        const text = (key: string): string => {
            const value = body[key];
            if (typeof value !== 'string') throw new Error(`${key} is required`);
            return value;
        };
        if (method === 'GET' && what === 'conversations' && id === undefined) return [200, agent.conversations()];
        if (method === 'GET' && what === 'conversations' && id !== undefined && action === 'messages') {
            return [200, agent.messagesFrom(id)];
        }
        if (method === 'GET' && what === 'requests') return [200, agent.requests];
        if (method === 'GET' && what === 'stats') return [200, stats()];
        if (method !== 'POST') throw new Error('unknown control route');
        if (what === 'conversations' && id !== undefined) {
            switch (action) {
                case 'accept':
                    agent.accept(id, text('agentName'));
                    return [200, {}];
                case 'message':
                    return [200, { identifier: agent.agentMessage(id, text('text')) }];
                case 'typing':
                    agent.agentTyping(id, body['on'] !== false);
                    return [200, {}];
                case 'transfer':
                    agent.transfer(id, text('toAgentName'));
                    return [200, {}];
                case 'end':
                    agent.end(id);
                    return [200, {}];
                case 'routing-failure':
                    agent.routingFailure(id, typeof body['reason'] === 'string' ? body['reason'] : undefined);
                    return [200, {}];
                case undefined:
                default:
                    break;
            }
        } else if (what === 'availability') {
            agent.setAvailability(body['available'] !== false);
            return [200, {}];
        } else if (what === 'wait-time') {
            agent.setWaitTime(
                typeof body['seconds'] === 'number' ? body['seconds'] : undefined,
                typeof body['queuePosition'] === 'number' ? body['queuePosition'] : undefined
            );
            return [200, {}];
        }
        const answer = own(method, parts, body);
        if (answer === undefined)
            throw new Error(what === 'conversations' ? 'unknown conversation action' : 'unknown control route');
        return answer;
    };
}

/** Polls `probe` until it gives something (not undefined or false): an emulator's `waitFor`. */
export async function waitUntil<T>(probe: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = probe();
        if (value !== undefined && value !== false) return value;
        if (Date.now() > deadline) throw new Error(`emulator condition not met within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
}
