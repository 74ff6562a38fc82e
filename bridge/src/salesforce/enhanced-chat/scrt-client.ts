/**
 * The REST half of the Enhanced Chat API (salesforce.md §3.2 rows 2, 5–8, 11, 12) on the deployment's
 * SCRT2 host, with retries: network errors, 429 and 5xx are retried with exponential backoff (honouring
 * Retry-After when given); 401 surfaces as `bridge_chat_unauthorized` so the caller can renew the token;
 * other 4xx are final. Every error is a BridgeError with `details.retryable`.
 *
 * Deadlines: each exchange ends at `requestTimeoutMs`, body included (the abort signal covers the body),
 * and a call with its retries and waits ends at `deadlineMs` with `bridge_chat_timeout` (retryable: the
 * outbox tries the job again later rather than holding a slot for minutes).
 */
import { BridgeError } from '../../core/errors';
import type { IncomingFile } from '../../core/handover/chat-port';
import type { Logger } from '../../observability/logger';
import { openAttachment, uploadFile } from './file-upload';
import type { FileUpload } from './file-upload';

export type FetchLike = typeof fetch;

export interface RetryPolicy {
    /** Tries in all, first one included. */
    attempts: number;
    baseMs: number;
    maxMs: number;
}

export interface ScrtClientOptions {
    scrtUrl: string;
    orgId: string;
    esDeveloperName: string;
    logger: Logger;
    fetch: FetchLike;
    retry: RetryPolicy;
    requestTimeoutMs: number;
    /** Per call, retries and waits included (default 60 s). */
    deadlineMs?: number;
}

export interface AccessTokenAnswer {
    accessToken: string;
    lastEventId: string | null;
}

export interface ScrtClient {
    unauthenticatedToken(): Promise<AccessTokenAnswer>;
    continuationToken(accessToken: string): Promise<AccessTokenAnswer>;
    createConversation(
        accessToken: string,
        conversationId: string,
        routingAttributes: Record<string, string>
    ): Promise<void>;
    sendText(accessToken: string, conversationId: string, messageId: string, text: string): Promise<void>;
    sendTyping(accessToken: string, conversationId: string, entryId: string, typing: boolean): Promise<void>;
    endSession(accessToken: string, conversationId: string): Promise<void>;
    closeConversation(accessToken: string, conversationId: string): Promise<void>;
    /** Uploads one file into the conversation (issue 18); see file-upload.ts. */
    sendFile(accessToken: string, conversationId: string, upload: FileUpload, signal?: AbortSignal): Promise<void>;
    /** Opens an agent's attachment URL with the conversation's token (issue 18); see file-upload.ts. */
    openFile(accessToken: string, url: string, signal?: AbortSignal): Promise<IncomingFile>;
}

interface CallSpec {
    method: 'GET' | 'POST' | 'DELETE';
    path: string;
    operation: string;
    accessToken?: string;
    body?: unknown;
    /** Statuses that count as done (e.g. 404 on an end: already gone). */
    acceptStatuses?: number[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A retry needs at least this much of the call's deadline left (or the request timeout, if shorter). */
const MIN_TRY_MS = 1000;

function callTimeout(operation: string, deadlineMs: number, last: BridgeError | undefined): BridgeError {
    return new BridgeError('bridge_chat_timeout', `${operation}: no success within the call's ${deadlineMs} ms`, {
        ...(last === undefined ? {} : { cause: last }),
        details: { operation, retryable: true, ...(last === undefined ? {} : { lastCode: last.code }) }
    });
}

export function backoffDelay(policy: { baseMs: number; maxMs: number }, attempt: number, factor = 2): number {
    return Math.min(policy.maxMs, Math.round(policy.baseMs * factor ** attempt));
}

function retryAfterMs(header: string | null): number | undefined {
    if (header === null) return undefined;
    const seconds = Number(header);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const at = Date.parse(header);
    return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export function createScrtClient(options: ScrtClientOptions): ScrtClient {
    const base = options.scrtUrl.replace(/\/+$/, '');
    const esQuery = `esDeveloperName=${encodeURIComponent(options.esDeveloperName)}`;

    const deadlineMs = options.deadlineMs ?? 60_000;

    const call = async (spec: CallSpec): Promise<unknown> => {
        let lastError: BridgeError | undefined;
        const until = performance.now() + deadlineMs;
        for (let attempt = 0; attempt < options.retry.attempts; attempt++) {
            if (attempt > 0) {
                const delay = backoffDelay(options.retry, attempt - 1);
                const waitMs = Math.max(delay, Number(lastError?.details.retryAfterMs ?? 0));
                if (until - performance.now() - waitMs < Math.min(options.requestTimeoutMs, MIN_TRY_MS)) {
                    throw callTimeout(spec.operation, deadlineMs, lastError);
                }
                options.logger.warn(
                    { operation: spec.operation, attempt, delayMs: waitMs, code: lastError?.code },
                    'enhanced chat call failed; retrying'
                );
                await sleep(waitMs);
            }
            let response: Response;
            const signal = AbortSignal.timeout(
                Math.max(1, Math.min(options.requestTimeoutMs, until - performance.now()))
            );
            try {
                response = await options.fetch(`${base}${spec.path}`, {
                    method: spec.method,
                    headers: {
                        Accept: 'application/json',
                        ...(spec.body === undefined ? {} : { 'Content-Type': 'application/json' }),
                        ...(spec.accessToken === undefined ? {} : { Authorization: `Bearer ${spec.accessToken}` })
                    },
                    ...(spec.body === undefined ? {} : { body: JSON.stringify(spec.body) }),
                    signal
                });
            } catch (error) {
                lastError = signal.aborted
                    ? new BridgeError('bridge_chat_timeout', `${spec.operation}: no answer in time`, {
                          cause: error,
                          details: { operation: spec.operation, retryable: true }
                      })
                    : new BridgeError('bridge_chat_unavailable', `${spec.operation}: Salesforce unreachable`, {
                          cause: error,
                          details: { operation: spec.operation, retryable: true }
                      });
                continue;
            }
            // The signal covers the body too: a server that stalls after its headers ends here.
            const text = await response.text().catch(() => undefined);
            if (text === undefined) {
                lastError = new BridgeError(
                    signal.aborted ? 'bridge_chat_timeout' : 'bridge_chat_unavailable',
                    `${spec.operation}: the answer was cut off`,
                    { details: { operation: spec.operation, status: response.status, retryable: true } }
                );
                continue;
            }
            if (response.ok || spec.acceptStatuses?.includes(response.status)) {
                if (text === '') return undefined;
                try {
                    return JSON.parse(text) as unknown;
                } catch {
                    return undefined;
                }
            }
            // Salesforce's error body is not documented for this API: keep only its code-like parts.
            let errorCode: unknown;
            try {
                const parsed = JSON.parse(text) as Record<string, unknown>;
                errorCode = parsed.code ?? parsed.errorCode;
            } catch {
                errorCode = undefined;
            }
            const details = {
                operation: spec.operation,
                status: response.status,
                ...(errorCode === undefined ? {} : { errorCode }),
                retryable: response.status === 429 || response.status >= 500
            };
            if (response.status === 401) {
                throw new BridgeError('bridge_chat_unauthorized', `${spec.operation}: access token rejected`, {
                    details: { ...details, retryable: true }
                });
            }
            if (!details.retryable) {
                throw new BridgeError(
                    'bridge_chat_rejected',
                    `${spec.operation}: Salesforce answered ${response.status}`,
                    {
                        details
                    }
                );
            }
            const after = retryAfterMs(response.headers.get('retry-after'));
            lastError = new BridgeError(
                response.status === 429 ? 'bridge_chat_throttled' : 'bridge_chat_unavailable',
                `${spec.operation}: Salesforce answered ${response.status}`,
                { details: after === undefined ? details : { ...details, retryAfterMs: after } }
            );
        }
        throw (
            lastError ??
            new BridgeError('bridge_chat_unavailable', `${spec.operation}: no attempt made`, {
                details: { operation: spec.operation, retryable: true }
            })
        );
    };

    const tokenAnswer = (body: unknown, operation: string): AccessTokenAnswer => {
        const record = (body ?? {}) as Record<string, unknown>;
        if (typeof record.accessToken !== 'string' || record.accessToken === '') {
            throw new BridgeError('bridge_chat_protocol', `${operation}: no accessToken in the answer`, {
                details: { operation, retryable: true }
            });
        }
        const last = record.lastEventId;
        return {
            accessToken: record.accessToken,
            lastEventId: typeof last === 'string' || typeof last === 'number' ? String(last) : null
        };
    };

    const conversationPath = (conversationId: string): string =>
        `/iamessage/api/v2/conversation/${encodeURIComponent(conversationId)}`;

    return {
        async unauthenticatedToken() {
            const body = await call({
                method: 'POST',
                path: '/iamessage/api/v2/authorization/unauthenticated/access-token',
                operation: 'access_token',
                body: {
                    orgId: options.orgId,
                    esDeveloperName: options.esDeveloperName,
                    capabilitiesVersion: '1',
                    platform: 'Web'
                }
            });
            return tokenAnswer(body, 'access_token');
        },
        async continuationToken(accessToken) {
            const body = await call({
                method: 'GET',
                path: '/iamessage/api/v2/authorization/continuation-access-token',
                operation: 'continuation_token',
                accessToken
            });
            return tokenAnswer(body, 'continuation_token');
        },
        async createConversation(accessToken, conversationId, routingAttributes) {
            await call({
                method: 'POST',
                path: '/iamessage/api/v2/conversation',
                operation: 'create_conversation',
                accessToken,
                body: {
                    conversationId,
                    esDeveloperName: options.esDeveloperName,
                    ...(Object.keys(routingAttributes).length > 0 ? { routingAttributes } : {})
                }
            });
        },
        async sendText(accessToken, conversationId, messageId, text) {
            await call({
                method: 'POST',
                path: `${conversationPath(conversationId)}/message`,
                operation: 'send_message',
                accessToken,
                body: {
                    message: {
                        id: messageId,
                        messageType: 'StaticContentMessage',
                        staticContent: { formatType: 'Text', text }
                    },
                    esDeveloperName: options.esDeveloperName
                }
            });
        },
        async sendTyping(accessToken, conversationId, entryId, typing) {
            await call({
                method: 'POST',
                path: `${conversationPath(conversationId)}/entry`,
                operation: 'send_typing',
                accessToken,
                body: { entryType: typing ? 'TypingStartedIndicator' : 'TypingStoppedIndicator', id: entryId }
            });
        },
        async endSession(accessToken, conversationId) {
            await call({
                method: 'DELETE',
                path: `${conversationPath(conversationId)}/session?${esQuery}`,
                operation: 'end_session',
                accessToken,
                acceptStatuses: [404]
            });
        },
        async sendFile(accessToken, conversationId, upload, signal) {
            await uploadFile(
                {
                    url: `${conversationPath(conversationId)}/file`,
                    base,
                    esDeveloperName: options.esDeveloperName,
                    fetch: options.fetch,
                    timeoutMs: deadlineMs
                },
                accessToken,
                upload,
                signal
            );
        },
        openFile(accessToken, url, signal) {
            return openAttachment({ base, fetch: options.fetch, timeoutMs: deadlineMs }, accessToken, url, signal);
        },
        async closeConversation(accessToken, conversationId) {
            await call({
                method: 'DELETE',
                path: `${conversationPath(conversationId)}?${esQuery}`,
                operation: 'close_conversation',
                accessToken,
                acceptStatuses: [404]
            });
        }
    };
}
