import { BridgeError } from '../core/errors';
import type { Logger } from '../observability/logger';
import { staticBearer } from './tract-auth';
import type { BearerSource } from './tract-auth';
import { chatHistoryEntries, chatHistoryResponseSchema } from './chat-history';
import type { ChatHistoryEntry } from './chat-history';
import type { HslMessage } from './hsl';
import { textHsl } from './hsl';

/**
 * The bridge's calls to Haptik (contract §3): TRACT message/event/thread-control and the chat
 * history. No retries here: the outbox retries, guided by `details.retryable` on the thrown errors:
 *
 * - `bridge_haptik_unauthorized` (401): not retryable; the credentials are wrong;
 * - `bridge_haptik_unavailable` (5xx, 408, 429, timeout, network): retryable;
 * - `bridge_haptik_rejected` (other 4xx, a 2xx carrying `error`, an unreadable answer): not retryable.
 */
export interface HaptikClientOptions {
    /** HAPTIK_BASE_URL: the integration APIs (get_chat_history). */
    baseUrl: string;
    clientId: string;
    /** HAPTIK_API_TOKEN (the Business Manager token): integration APIs, and TRACT when no tractBearer. */
    apiToken: string;
    businessId: number | string;
    logger: Logger;
    /** HAPTIK_TRACT_URL: every `/tract/` call; default baseUrl. */
    tractUrl?: string | undefined;
    /** The bearer of TRACT calls (tract-auth.ts); default HAPTIK_API_TOKEN. */
    tractBearer?: BearerSource | undefined;
    fetch?: typeof fetch;
    /** Per call; default 10 s. */
    timeoutMs?: number;
}

/** `message_id` makes a retried send recognisable as the same message (contract §3). */
export type HaptikMessageMetadata = { message_id: string } & Record<string, unknown>;

export type SendMessageInput =
    | { userId: string; text: string; metadata: HaptikMessageMetadata }
    | { userId: string; hsl: string | HslMessage; metadata: HaptikMessageMetadata };

export interface SendEventInput {
    userId: string;
    category: string;
    subcategory: string;
    /** Sent as a string (Haptik documents event metadata as str); an object is sent as its JSON. */
    metadata?: Record<string, unknown> | string;
}

/** A receiver of TRACT thread control (`/tract/thread_control/listeners/`). */
export interface TractListener {
    /** Its receiver id: the listener's `receiver`, `receiver_id`, `id` or `name` (the field is not documented). */
    id: string;
    isDefault: boolean;
    isPrimary: boolean;
    active: boolean;
}

/** `/tract/user/`: who a TRACT user id is. */
export interface TractUser {
    userId: string;
    userName: string | undefined;
}

export interface PassThreadControlInput {
    userId: string;
    requester: string;
    receiver: string;
}

export interface ThreadControlResult {
    success: boolean;
    reason: string;
}

export interface HaptikClient {
    sendMessage(input: SendMessageInput): Promise<void>;
    sendEvent(input: SendEventInput): Promise<void>;
    passThreadControl(input: PassThreadControlInput): Promise<ThreadControlResult>;
    getChatHistory(input: { userName: string; conversationNo: string | number }): Promise<ChatHistoryEntry[]>;
    /** The thread-control receivers of a user's thread. */
    listeners(userId: string): Promise<TractListener[]>;
    /** The TRACT user API: the user's Haptik user name, when Haptik has one. */
    getUser(userId: string): Promise<TractUser>;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** One authenticated call to Haptik; errors are the BridgeErrors listed above. */
export type HaptikCall = (operation: string, method: 'GET' | 'POST', path: string, body?: unknown) => Promise<unknown>;

export interface HaptikCallOptions {
    baseUrl: string;
    clientId: string;
    /** Where the bearer comes from; `apiToken` is the fixed Business Manager token. */
    bearer?: BearerSource | undefined;
    apiToken?: string | undefined;
    logger: Logger;
    fetch?: typeof fetch | undefined;
    timeoutMs?: number | undefined;
}

/**
 * The authenticated request every Haptik client shares: contract §3 headers, timeout, error mapping. A
 * 401 to a token that can be renewed (TRACT) renews it and tries once more: the refused call did nothing.
 */
export function createHaptikCall(options: HaptikCallOptions): HaptikCall {
    const bearer = options.bearer ?? staticBearer(options.apiToken ?? '');
    return async function call(operation, method, path, body) {
        const token = await bearer.token();
        try {
            const answer = await callOnce(options, bearer, token, operation, method, path, body);
            bearer.accepted?.(token);
            return answer;
        } catch (error) {
            if (!(error instanceof BridgeError && error.code === 'bridge_haptik_unauthorized')) throw error;
            if (!(await bearer.rejected(token))) throw error;
            const renewed = await bearer.token();
            const answer = await callOnce(options, bearer, renewed, operation, method, path, body);
            bearer.accepted?.(renewed);
            return answer;
        }
    };
}

async function callOnce(
    options: HaptikCallOptions,
    bearer: BearerSource,
    token: string,
    operation: string,
    method: 'GET' | 'POST',
    path: string,
    body: unknown
): Promise<unknown> {
    const baseUrl = options.baseUrl.replace(/\/+$/, '');
    const doFetch = options.fetch ?? fetch;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const log = options.logger;
    const headers: Record<string, string> = {
        'client-id': options.clientId,
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json'
    };
    const started = process.hrtime.bigint();
    let response: Response;
    try {
        response = await doFetch(`${baseUrl}${path}`, {
            method,
            headers,
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
            signal: AbortSignal.timeout(timeoutMs)
        });
    } catch (error) {
        // By name, not instanceof: the abort reason is a DOMException, which may come from another realm.
        const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
        const timedOut = name === 'TimeoutError' || name === 'AbortError';
        log.warn({ operation, timedOut }, 'Haptik call failed before an answer');
        throw new BridgeError(
            'bridge_haptik_unavailable',
            timedOut
                ? `Haptik did not answer ${operation} within ${timeoutMs} ms`
                : `Haptik could not be reached for ${operation}`,
            { cause: error, details: { operation, retryable: true, timedOut } }
        );
    }
    const text = await response.text().catch(() => '');
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    log.debug({ operation, status: response.status, durationMs }, 'Haptik call');
    const parsed = parseJson(text);
    if (!response.ok) throw errorForStatus(operation, response, parsed, bearer.settings);
    const haptikError = errorText(parsed);
    if (haptikError !== undefined) {
        throw new BridgeError('bridge_haptik_rejected', `Haptik refused ${operation}: ${haptikError}`, {
            details: { operation, status: response.status, retryable: false, haptikError }
        });
    }
    return parsed;
}

export function createHaptikClient(options: HaptikClientOptions): HaptikClient {
    const call = createHaptikCall(options);
    const tract = createHaptikCall({
        ...options,
        baseUrl: options.tractUrl ?? options.baseUrl,
        bearer: options.tractBearer ?? staticBearer(options.apiToken)
    });

    return {
        async sendMessage(input) {
            const messageBody =
                'text' in input
                    ? textHsl(input.text)
                    : typeof input.hsl === 'string'
                      ? input.hsl
                      : JSON.stringify(input.hsl);
            await tract('message/send', 'POST', '/tract/message/send/', {
                user_id: input.userId,
                message_body: messageBody,
                sender: 'aeu',
                metadata: input.metadata
            });
        },

        async sendEvent(input) {
            await tract('events/send', 'POST', '/tract/events/send', {
                user_id: input.userId,
                category: input.category,
                subcategory: input.subcategory,
                metadata: typeof input.metadata === 'string' ? input.metadata : JSON.stringify(input.metadata ?? {})
            });
        },

        async passThreadControl(input) {
            const answer = await tract('thread_control/request', 'POST', '/tract/thread_control/request', {
                user_id: input.userId,
                type: 'pass',
                requester: input.requester,
                receiver: input.receiver
            });
            const record = isRecord(answer) ? answer : {};
            return {
                success: record.success === true,
                reason: typeof record.reason === 'string' ? record.reason : ''
            };
        },

        async getChatHistory(input) {
            const query = new URLSearchParams({
                business_id: String(options.businessId),
                user_name: input.userName,
                conversation_no: String(input.conversationNo)
            });
            const answer = await call(
                'get_chat_history',
                'GET',
                `/integration/external/v2.0/get_chat_history/?${query.toString()}`
            );
            const parsed = chatHistoryResponseSchema.safeParse(answer);
            if (!parsed.success || (parsed.data.chat_json == null && parsed.data.chat_text == null)) {
                throw new BridgeError('bridge_haptik_rejected', 'Haptik answered get_chat_history without chat_json', {
                    details: { operation: 'get_chat_history', retryable: false }
                });
            }
            return chatHistoryEntries(parsed.data);
        },

        async listeners(userId) {
            const answer = await tract('thread_control/listeners', 'POST', '/tract/thread_control/listeners/', {
                user_id: userId
            });
            const list = isRecord(answer) && Array.isArray(answer.listeners) ? answer.listeners : undefined;
            if (list === undefined) {
                throw new BridgeError(
                    'bridge_haptik_rejected',
                    'Haptik answered thread_control/listeners without listeners',
                    {
                        details: { operation: 'thread_control/listeners', retryable: false }
                    }
                );
            }
            return list.filter(isRecord).flatMap((item) => {
                const id = [item.receiver, item.receiver_id, item.id, item.name].find(
                    (value): value is string => typeof value === 'string' && value !== ''
                );
                return id === undefined
                    ? []
                    : [
                          {
                              id,
                              isDefault: item.is_default === true,
                              isPrimary: item.is_primary === true,
                              active: item.active === true
                          }
                      ];
            });
        },

        async getUser(userId) {
            const answer = await tract('user', 'POST', '/tract/user/', { user_id: userId });
            const record = isRecord(answer) ? answer : {};
            const userName =
                typeof record.user_name === 'string' && record.user_name.trim() !== ''
                    ? record.user_name.trim()
                    : undefined;
            return { userId, userName };
        }
    };
}

function errorForStatus(operation: string, response: Response, body: unknown, settings: string): BridgeError {
    const status = response.status;
    const haptikError = errorText(body);
    const base = { operation, status, ...(haptikError === undefined ? {} : { haptikError }) };
    if (status === 401) {
        return new BridgeError(
            'bridge_haptik_unauthorized',
            `Haptik rejected the credentials on ${operation} (HTTP ${status}): check ${settings}`,
            { details: { ...base, retryable: false } }
        );
    }
    if (status >= 500 || status === 408 || status === 429) {
        const retryAfterMs = retryAfter(response.headers.get('retry-after'));
        return new BridgeError('bridge_haptik_unavailable', `Haptik is unavailable for ${operation} (HTTP ${status})`, {
            details: { ...base, retryable: true, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) }
        });
    }
    return new BridgeError(
        'bridge_haptik_rejected',
        `Haptik refused ${operation} (HTTP ${status})${haptikError === undefined ? '' : `: ${haptikError}`}`,
        { details: { ...base, retryable: false } }
    );
}

function parseJson(text: string): unknown {
    if (text.trim() === '') return {};
    try {
        return JSON.parse(text) as unknown;
    } catch {
        return { unparsed: true };
    }
}

/** Haptik's error text (`error` on TRACT, `error_message` on the auth layer), short enough for logs. */
function errorText(body: unknown): string | undefined {
    if (!isRecord(body)) return undefined;
    const value = body.error ?? body.error_message;
    if (typeof value !== 'string' || value.trim() === '') return undefined;
    return value.slice(0, 200);
}

function retryAfter(header: string | null): number | undefined {
    if (header === null) return undefined;
    const seconds = Number(header);
    return Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 1000) : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}
