/**
 * The Interaction Service API calls the bridge makes (salesforce.md §3.3; salesforce-misc/interaction-service-apis
 * @ be9d014, inbound-interaction-api.yaml and README.md): `POST /api/v1/interactions` (multipart, a `json` part),
 * `/conversationHistory`, `/acknowledgement`, `/messagingSession`, `PATCH /capabilities`. Every call carries
 * `Authorization: Bearer`, `OrgId` (15 characters), `AuthorizationContext` (the ConversationChannelDefinition) and
 * a fresh `RequestId` UUID. Errors come back as `{code, message}` with the ERRORCODES.md codes; a 5xx, a network
 * failure or a timeout is retried with backoff, a 401 renews the token once, anything else is final.
 */
import { randomUUID } from 'node:crypto';
import { BridgeError } from '../../core/errors';
import type { Logger } from '../../observability/logger';
import type { ByocAuth } from './byoc-auth';

export interface InteractionClientOptions {
    scrtUrl: string;
    orgId: string;
    channelAddress: string;
    channelDefinition: string;
    auth: ByocAuth;
    logger: Logger;
    fetch?: typeof fetch;
    retry?: { attempts: number; baseMs: number; maxMs: number };
    requestTimeoutMs?: number;
}

export interface Participant {
    appType: 'custom' | 'chatbot' | 'agent';
    subject: string;
    role: 'EndUser' | 'Chatbot' | 'Agent';
}

export interface HistoryEntry {
    role: 'EndUser' | 'Chatbot';
    text: string;
    at: number;
}

/** The `{code, message}` of a refused call, in `details` of a `bridge_chat_rejected`. */
export interface InteractionRefusal {
    status: number;
    code?: number;
}

export interface InteractionClient {
    /** An end user's text; `routingAttributes` only with the first message of a session. */
    sendText(
        from: string,
        message: { id: string; text: string; at: number },
        routingAttributes?: Record<string, string>
    ): Promise<{ conversationIdentifier?: string; workItemIds: string[] }>;
    sendTyping(from: string, typing: boolean, at: number): Promise<void>;
    /** Imports the bot's conversation into a new session (BYOC for CCaaS; 10057 elsewhere). */
    importHistory(
        from: string,
        botName: string,
        entries: HistoryEntry[],
        now: number
    ): Promise<{ conversationIdentifier?: string; messagingSessionId?: string }>;
    acknowledge(
        conversationIdentifier: string,
        from: string,
        acks: Array<{ entryId: string; type: 'Delivered' | 'Read'; at: number }>
    ): Promise<void>;
    endSession(from: string, conversationIdentifier: string): Promise<void>;
    registerCapabilities(capabilities: unknown): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function createInteractionClient(options: InteractionClientOptions): InteractionClient {
    const base = `${options.scrtUrl.replace(/\/+$/, '')}/api/v1`;
    const doFetch = options.fetch ?? fetch;
    const retry = options.retry ?? { attempts: 5, baseMs: 250, maxMs: 5000 };
    const timeoutMs = options.requestTimeoutMs ?? 15_000;

    const call = async (
        operation: string,
        method: 'POST' | 'PATCH',
        path: string,
        body: { json: unknown } | { multipart: unknown }
    ): Promise<Record<string, unknown>> => {
        let last: BridgeError | undefined;
        let renewed = false;
        for (let attempt = 0; attempt < retry.attempts; attempt++) {
            if (attempt > 0) await sleep(Math.min(retry.maxMs, retry.baseMs * 2 ** (attempt - 1)));
            const token = await options.auth.token();
            let payload: string | FormData;
            const headers: Record<string, string> = {
                Authorization: `Bearer ${token.accessToken}`,
                OrgId: options.orgId.slice(0, 15),
                AuthorizationContext: options.channelDefinition,
                RequestId: randomUUID(),
                Accept: 'application/json'
            };
            if ('multipart' in body) {
                // The documented shape: a `json` form part of type application/json (README curl `-F json=…;type=application/json`).
                payload = new FormData();
                payload.append('json', new Blob([JSON.stringify(body.multipart)], { type: 'application/json' }));
            } else {
                payload = JSON.stringify(body.json);
                headers['Content-Type'] = 'application/json';
            }
            let response: Response;
            try {
                response = await doFetch(`${base}${path}`, {
                    method,
                    headers,
                    body: payload,
                    signal: AbortSignal.timeout(timeoutMs)
                });
            } catch (error) {
                last = new BridgeError(
                    'bridge_chat_unavailable',
                    `${operation}: the Interaction Service is unreachable`,
                    {
                        cause: error,
                        details: { operation, retryable: true }
                    }
                );
                continue;
            }
            const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
            if (response.ok) return answer;
            const code = typeof answer['code'] === 'number' ? answer['code'] : undefined;
            if (response.status === 401 && !renewed) {
                renewed = true;
                options.auth.invalidate(token.accessToken);
                attempt -= 1;
                continue;
            }
            const refusal = { status: response.status, ...(code === undefined ? {} : { code }) };
            if (response.status >= 500 || response.status === 429) {
                last = new BridgeError(
                    'bridge_chat_unavailable',
                    `${operation}: the Interaction Service answered ${response.status}`,
                    {
                        details: { operation, retryable: true, ...refusal }
                    }
                );
                options.logger.warn({ operation, attempt, ...refusal }, 'BYOC interaction call failed; retrying');
                continue;
            }
            throw new BridgeError(
                response.status === 401 || response.status === 403
                    ? 'bridge_chat_unauthorized'
                    : 'bridge_chat_rejected',
                `${operation}: the Interaction Service refused the call (HTTP ${response.status}${code === undefined ? '' : `, code ${code}`})`,
                { details: { operation, retryable: false, ...refusal } }
            );
        }
        throw (
            last ??
            new BridgeError('bridge_chat_unavailable', `${operation}: no attempt made`, {
                details: { operation, retryable: true }
            })
        );
    };

    const endUser = (from: string): Participant => ({ appType: 'custom', subject: from, role: 'EndUser' });

    const interaction = (
        from: string,
        payload: Record<string, unknown>,
        at: number,
        routingAttributes?: Record<string, string>
    ) => ({
        to: options.channelAddress,
        from,
        ...(routingAttributes === undefined || Object.keys(routingAttributes).length === 0
            ? {}
            : { routingAttributes }),
        interactions: [{ timestamp: at, interactionType: 'EntryInteraction', payload }]
    });

    return {
        async sendText(from, message, routingAttributes) {
            const answer = await call('byoc_message', 'POST', '/interactions', {
                multipart: interaction(
                    from,
                    {
                        id: message.id,
                        entryType: 'Message',
                        abstractMessage: {
                            messageType: 'StaticContentMessage',
                            id: message.id,
                            staticContent: { formatType: 'Text', text: message.text }
                        }
                    },
                    message.at,
                    routingAttributes
                )
            });
            return {
                ...(typeof answer['conversationIdentifier'] === 'string'
                    ? { conversationIdentifier: answer['conversationIdentifier'] }
                    : {}),
                workItemIds: Array.isArray(answer['workItemIds']) ? answer['workItemIds'].map(String) : []
            };
        },

        async sendTyping(from, typing, at) {
            await call('byoc_typing', 'POST', '/interactions', {
                multipart: interaction(
                    from,
                    {
                        id: randomUUID(),
                        entryType: typing ? 'TypingStartedIndicator' : 'TypingStoppedIndicator',
                        timestamp: at
                    },
                    at
                )
            });
        },

        async importHistory(from, botName, entries, now) {
            const first = entries[0]?.at ?? now;
            const bot: Participant = { appType: 'chatbot', subject: 'haptik-bot', role: 'Chatbot' };
            // inbound-interaction-api.yaml AddConversationHistoryRequest: ≤ 25 entries, a chatbot has a leftTime.
            const answer = await call('byoc_history', 'POST', '/conversationHistory', {
                json: {
                    channelAddressIdentifier: options.channelAddress,
                    conversationParticipants: [
                        { participant: endUser(from), joinedTime: first },
                        { participant: bot, displayName: botName, joinedTime: first, leftTime: now }
                    ],
                    conversationEntries: entries.slice(-25).map((entry) => {
                        const id = randomUUID();
                        return {
                            clientTimestamp: entry.at,
                            sender: entry.role === 'EndUser' ? endUser(from) : bot,
                            entryPayload: {
                                id,
                                entryType: 'Message',
                                abstractMessage: {
                                    messageType: 'StaticContentMessage',
                                    id,
                                    staticContent: { formatType: 'Text', text: entry.text }
                                }
                            }
                        };
                    }),
                    messagingSession: {
                        messagingSessionRequestType: 'EstablishMessagingSession',
                        payload: { startTime: first }
                    }
                }
            });
            return {
                ...(typeof answer['conversationIdentifier'] === 'string'
                    ? { conversationIdentifier: answer['conversationIdentifier'] }
                    : {}),
                ...(typeof answer['messagingSessionId'] === 'string'
                    ? { messagingSessionId: answer['messagingSessionId'] }
                    : {})
            };
        },

        async acknowledge(conversationIdentifier, from, acks) {
            for (let i = 0; i < acks.length; i += 25) {
                await call('byoc_acknowledgement', 'POST', '/acknowledgement', {
                    json: {
                        conversationIdentifier,
                        sender: endUser(from),
                        acknowledgements: acks.slice(i, i + 25).map((ack) => ({
                            acknowledgementTimestamp: String(ack.at),
                            acknowledgementType: ack.type,
                            acknowledgedConversationEntryIdentifier: ack.entryId,
                            acknowledgmentCreatedConversationEntryIdentifier: randomUUID()
                        }))
                    }
                });
            }
        },

        async endSession(from, conversationIdentifier) {
            await call('byoc_end', 'POST', '/messagingSession', {
                json: {
                    channelAddressIdentifier: options.channelAddress,
                    endUserClientId: from,
                    conversationIdentifier,
                    operation: 'End',
                    operationBy: 'EndUser'
                }
            });
        },

        async registerCapabilities(capabilities) {
            await call('byoc_capabilities', 'PATCH', '/capabilities', { json: { capabilities } });
        }
    };
}
