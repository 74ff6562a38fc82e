/**
 * The Enhanced Chat (Messaging for In-App and Web) implementation of the handover core's ChatAdapter:
 * the bridge acts as one guest web user per handover (salesforce.md §3.2). Salesforce's limits are met
 * by queuing, never by failing the user: access tokens through one per-org window (200/min), messages
 * through one window per conversation (22/min), sent one at a time in call order. A message over its
 * conversation's window is not waited for here (that held an outbox slot for up to a minute): the send
 * fails with `bridge_chat_rate_limited` and `details.deferMs`, and the outbox puts the job back until the
 * window has room, keeping the chat's order and its attempts.
 *
 * Token renewal: a guest's conversation belongs to its token's subject, and the service refuses an expired
 * token outright (401, plain text `Jwt is expired`), continuation endpoint included; a new guest token is a
 * new subject that cannot reach the conversation. So the adapter renews AHEAD of expiry, with a
 * continuation token (same subject) while the old one is still valid: before any call when the token is
 * close to its end, and on a timer for a chat that is idle (a long queue, a quiet agent). A 401 still
 * renews once (continuation, then a new guest token as a last resort). Salesforce documents that a
 * continuation token "doesn't extend the JWT expiration": if a real org confirms that, a guest chat cannot
 * outlive its first token and only user verification (authenticated tokens) can; to check in a real org.
 */
import { randomUUID } from 'node:crypto';
import { BridgeError, asBridgeError, isBridgeError } from '../../core/errors';
import type { ChatAdapter, ChatEventSink, ChatSessionState, OpenChatRequest } from '../../core/handover/chat-port';
import type { Dispatcher } from 'undici';
import type { Logger } from '../../observability/logger';
import type { Metrics } from '../../observability/metrics';
import { toChatUuid } from './chat-ids';
import { createWindowLimiter } from './rate-limiter';
import type { WindowLimiter } from './rate-limiter';
import { createScrtClient } from './scrt-client';
import type { AccessTokenAnswer, FetchLike, RetryPolicy } from './scrt-client';
import { ChatStream, toState } from './sse-stream';
import type { EnhancedChatData, HandoverSession, ReconnectPolicy } from './sse-stream';
import { sharedFetch } from '../http-pool';

export type { EnhancedChatData } from './sse-stream';

export interface EnhancedChatAdapterOptions {
    /** The deployment's SCRT2 URL (`https://<MyDomain>.my.salesforce-scrt.com`). */
    scrtUrl: string;
    orgId: string;
    /** API name of the Embedded Service deployment (Custom Client). */
    esDeveloperName: string;
    logger: Logger;
    /** Accepted for symmetry with the other adapters; no chat-specific metric exists yet. */
    metrics?: Metrics;
    clock?: { now(): number };
    /** For the REST calls (default: the global fetch). */
    fetch?: FetchLike;
    /** For the event streams: the HTTP pool (default: the process's shared one, http-pool.ts). */
    dispatcher?: Dispatcher;
    /** Stream reconnects: default 1 s × 1.5ⁿ up to 30 s, as Salesforce's sample client. */
    reconnect?: ReconnectPolicy;
    /** No byte for this long means a dead stream (default 90 s, as the sample client). */
    heartbeatTimeoutMs?: number;
    /** Access tokens per window per org (default 200, Salesforce's limit). */
    tokenRatePerMinute?: number;
    /** Messages per window per conversation (default 22, Salesforce's limit). */
    messageRatePerMinute?: number;
    /** The limits' window (default 60 000 ms); tests shorten it. */
    rateWindowMs?: number;
    /** REST retries for 5xx, 429 and network errors (default 5 tries, 250 ms doubling to 5 s). */
    retry?: RetryPolicy;
    requestTimeoutMs?: number;
    /** Renew a token this long before it expires (default: a fifth of its life, at most 10 minutes). */
    renewAheadMs?: number;
}

interface AdapterSession extends HandoverSession {
    stream?: ChatStream;
    limiter: WindowLimiter;
    /** Sends of this handover, one after the other, in call order. */
    sendTail: Promise<void>;
    renewing?: Promise<void>;
    /** Renews the token ahead of its expiry while the chat is idle. */
    renewTimer?: NodeJS.Timeout;
}

function tokenExpiry(accessToken: string): string | null {
    const payload = accessToken.split('.')[1];
    if (payload === undefined) return null;
    try {
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
        return typeof claims.exp === 'number' ? new Date(claims.exp * 1000).toISOString() : null;
    } catch {
        return null;
    }
}

function tokenIssuedAt(accessToken: string): number | undefined {
    const payload = accessToken.split('.')[1];
    if (payload === undefined) return undefined;
    try {
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iat?: unknown };
        return typeof claims.iat === 'number' ? claims.iat * 1000 : undefined;
    } catch {
        return undefined;
    }
}

function readData(handoverId: string, state: ChatSessionState): EnhancedChatData {
    const { accessToken, conversationId, tokenExpiresAt, messagingSessionId } = state.data;
    if (typeof accessToken !== 'string' || typeof conversationId !== 'string') {
        throw new BridgeError('bridge_chat_state', 'the saved chat state has no access token or conversation id', {
            details: { handoverId, retryable: false }
        });
    }
    return {
        accessToken,
        conversationId,
        tokenExpiresAt: typeof tokenExpiresAt === 'string' ? tokenExpiresAt : null,
        ...(typeof messagingSessionId === 'string' ? { messagingSessionId } : {})
    };
}

export function createEnhancedChatAdapter(options: EnhancedChatAdapterOptions): ChatAdapter {
    const logger = options.logger;
    const now = (): number => (options.clock ? options.clock.now() : Date.now());
    const doFetch: FetchLike = options.fetch ?? sharedFetch;
    const windowMs = options.rateWindowMs ?? 60_000;
    const messageRate = options.messageRatePerMinute ?? 22;
    const tokenLimiter = createWindowLimiter(options.tokenRatePerMinute ?? 200, windowMs, now);
    const client = createScrtClient({
        scrtUrl: options.scrtUrl,
        orgId: options.orgId,
        esDeveloperName: options.esDeveloperName,
        logger,
        fetch: doFetch,
        retry: options.retry ?? { attempts: 5, baseMs: 250, maxMs: 5000 },
        requestTimeoutMs: options.requestTimeoutMs ?? 15_000
    });
    const sessions = new Map<string, AdapterSession>();
    let sink: ChatEventSink | undefined;
    let closed = false;

    const newToken = async (): Promise<AccessTokenAnswer> => {
        await tokenLimiter.acquire();
        return client.unauthenticatedToken();
    };

    const applyToken = (session: AdapterSession, answer: AccessTokenAnswer): void => {
        session.data = {
            ...session.data,
            accessToken: answer.accessToken,
            tokenExpiresAt: tokenExpiry(answer.accessToken)
        };
        session.stateChanged = true;
        scheduleRenewal(session);
    };

    /** When a token should be renewed: ahead of its expiry by renewAheadMs (or a fifth of its life). */
    const renewAt = (session: AdapterSession): number => {
        const expiresAt = session.data.tokenExpiresAt === null ? NaN : Date.parse(session.data.tokenExpiresAt);
        if (Number.isNaN(expiresAt)) return NaN;
        const issuedAt = tokenIssuedAt(session.data.accessToken) ?? expiresAt - 10 * 60_000 * 5;
        const ahead = options.renewAheadMs ?? Math.min(10 * 60_000, (expiresAt - issuedAt) / 5);
        return expiresAt - ahead;
    };

    const stopRenewal = (session: AdapterSession): void => {
        if (session.renewTimer !== undefined) clearTimeout(session.renewTimer);
        delete session.renewTimer;
    };

    /** Keeps an idle chat's token alive: renews it (same subject) while it is still valid; only a session kept here. */
    function scheduleRenewal(session: AdapterSession): void {
        stopRenewal(session);
        const at = renewAt(session);
        if (Number.isNaN(at) || closed || sessions.get(session.handoverId) !== session) return;
        session.renewTimer = setTimeout(
            () => {
                delete session.renewTimer;
                if (sessions.get(session.handoverId) !== session) return;
                renewToken(session).catch((error: unknown) => {
                    logger.warn(
                        { handoverId: session.handoverId, code: asBridgeError(error, 'bridge_chat_unauthorized').code },
                        'enhanced chat token renewal ahead of expiry failed; trying again shortly'
                    );
                    if (sessions.get(session.handoverId) === session && !closed) {
                        session.renewTimer = setTimeout(() => scheduleRenewal(session), 5000);
                        session.renewTimer.unref();
                    }
                });
            },
            Math.max(0, at - now())
        );
        session.renewTimer.unref();
    }

    /** One renewal at a time per handover; concurrent callers share it. */
    const renewToken = (session: AdapterSession): Promise<void> => {
        if (session.renewing) return session.renewing;
        const run = async (): Promise<void> => {
            try {
                await tokenLimiter.acquire();
                applyToken(session, await client.continuationToken(session.data.accessToken));
                logger.info({ handoverId: session.handoverId, via: 'continuation' }, 'enhanced chat token renewed');
            } catch (error) {
                if (
                    !isBridgeError(error, 'bridge_chat_unauthorized') &&
                    !isBridgeError(error, 'bridge_chat_rejected')
                ) {
                    throw error;
                }
                applyToken(session, await newToken());
                logger.warn({ handoverId: session.handoverId, via: 'new_guest_token' }, 'enhanced chat token replaced');
            }
        };
        session.renewing = run().finally(() => {
            delete session.renewing;
        });
        return session.renewing;
    };

    const newSession = (handoverId: string, state: ChatSessionState): AdapterSession => ({
        handoverId,
        data: readData(handoverId, state),
        cursor: state.cursor,
        stateChanged: false,
        limiter: createWindowLimiter(messageRate, windowMs, now),
        sendTail: Promise.resolve()
    });

    const sessionFor = (handoverId: string, state: ChatSessionState): AdapterSession => {
        const known = sessions.get(handoverId);
        if (known) return known;
        const session = newSession(handoverId, state);
        sessions.set(handoverId, session);
        scheduleRenewal(session);
        return session;
    };

    /** Runs a call with the session's token (renewed first when near its end); a 401 renews once and retries. */
    const withToken = async <T>(session: AdapterSession, call: (token: string) => Promise<T>): Promise<T> => {
        if (renewAt(session) <= now()) await renewToken(session);
        try {
            return await call(session.data.accessToken);
        } catch (error) {
            if (!isBridgeError(error, 'bridge_chat_unauthorized')) throw error;
            await renewToken(session);
            return call(session.data.accessToken);
        }
    };

    const startStream = (session: AdapterSession): void => {
        if (session.stream?.running) return;
        session.stream = new ChatStream(
            {
                scrtUrl: options.scrtUrl,
                orgId: options.orgId,
                ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
                logger,
                reconnect: options.reconnect ?? { baseMs: 1000, factor: 1.5, maxMs: 30_000 },
                heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 90_000,
                sink: () => sink,
                renewToken: (s) => renewToken(s as AdapterSession)
            },
            session
        );
        session.stream.start();
    };

    const assertOpen = (): void => {
        if (closed) {
            throw new BridgeError('bridge_chat_closed', 'the chat adapter is closed', { details: { retryable: true } });
        }
    };

    return {
        kind: 'enhanced',
        sendsBeforeAgentJoins: true,

        async open(request: OpenChatRequest): Promise<ChatSessionState> {
            assertOpen();
            const existing = sessions.get(request.handoverId);
            if (existing?.stream?.running) return toState(existing);
            const conversationId = toChatUuid('conversation', request.handoverId);
            try {
                // A re-run after a crash continues as the same guest: the conversation belongs to its subject.
                const prior = request.previous?.data;
                const resumed =
                    typeof prior?.['accessToken'] === 'string' && prior['conversationId'] === conversationId
                        ? { accessToken: prior['accessToken'], lastEventId: request.previous?.cursor ?? null }
                        : undefined;
                const token = resumed ?? (await newToken());
                const data: EnhancedChatData = {
                    accessToken: token.accessToken,
                    conversationId,
                    tokenExpiresAt: tokenExpiry(token.accessToken)
                };
                if (resumed === undefined)
                    await request.saveProgress?.({ data: { ...data }, cursor: token.lastEventId });
                try {
                    await client.createConversation(token.accessToken, conversationId, request.routingAttributes);
                } catch (error) {
                    // Our id, our guest: the first run created it before it was cut off.
                    const exists = isBridgeError(error, 'bridge_chat_rejected') && error.details['status'] === 409;
                    if (resumed === undefined || !exists) throw error;
                    logger.info({ handoverId: request.handoverId }, 'enhanced chat conversation existed already');
                }
                const session = sessionFor(request.handoverId, { data: { ...data }, cursor: token.lastEventId });
                session.data = data;
                session.cursor = token.lastEventId;
                logger.info({ handoverId: request.handoverId, conversationId }, 'enhanced chat conversation created');
                startStream(session);
                return toState(session);
            } catch (error) {
                throw asBridgeError(error, 'bridge_chat_open', 'could not start the Enhanced Chat conversation');
            }
        },

        resume(handoverId: string, state: ChatSessionState): Promise<void> {
            try {
                assertOpen();
                const session = sessionFor(handoverId, state);
                if (!session.stream?.running) {
                    session.data = readData(handoverId, state);
                    session.cursor = state.cursor;
                }
                startStream(session);
                return Promise.resolve();
            } catch (error) {
                return Promise.reject(asBridgeError(error, 'bridge_chat_resume'));
            }
        },

        async sendMessage(handoverId, state, message): Promise<void> {
            assertOpen();
            const session = sessionFor(handoverId, state);
            const id = toChatUuid('message', message.messageId);
            const send = async (): Promise<void> => {
                const waitMs = session.limiter.tryAcquire();
                if (waitMs > 0) {
                    throw new BridgeError('bridge_chat_rate_limited', 'the conversation is at its message rate', {
                        details: { handoverId, retryable: true, deferMs: waitMs }
                    });
                }
                await withToken(session, (token) =>
                    client.sendText(token, session.data.conversationId, id, message.text)
                );
            };
            const turn = session.sendTail.then(send);
            session.sendTail = turn.catch(() => undefined);
            await turn;
        },

        async sendFile(handoverId, state, file, signal): Promise<void> {
            assertOpen();
            const session = sessionFor(handoverId, state);
            const send = async (): Promise<void> => {
                const waitMs = session.limiter.tryAcquire();
                if (waitMs > 0) {
                    throw new BridgeError('bridge_chat_rate_limited', 'the conversation is at its message rate', {
                        details: { handoverId, retryable: true, deferMs: waitMs }
                    });
                }
                if (renewAt(session) <= now()) await renewToken(session);
                try {
                    await client.sendFile(
                        session.data.accessToken,
                        session.data.conversationId,
                        {
                            messageId: toChatUuid('message', file.messageId),
                            fileId: toChatUuid('file', file.messageId),
                            fileName: file.fileName,
                            contentType: file.contentType,
                            body: file.body,
                            ...(file.text === undefined ? {} : { text: file.text })
                        },
                        signal
                    );
                } catch (error) {
                    // The body streamed once and is gone: renew now, and the outbox's next try uploads again.
                    if (isBridgeError(error, 'bridge_chat_unauthorized')) await renewToken(session);
                    throw error;
                }
            };
            const turn = session.sendTail.then(send);
            session.sendTail = turn.catch(() => undefined);
            await turn;
        },

        async openAttachment(handoverId, state, attachment, signal) {
            assertOpen();
            // Any instance serves a file link, also for a chat it does not read or one that ended: such a chat's
            // session serves this call only and is not kept (kept, its token would be renewed here for good).
            const session = sessions.get(handoverId) ?? newSession(handoverId, state);
            return withToken(session, (token) => client.openFile(token, attachment.url, signal));
        },

        async sendTyping(handoverId, state, typing): Promise<void> {
            assertOpen();
            const session = sessionFor(handoverId, state);
            await withToken(session, (token) =>
                client.sendTyping(token, session.data.conversationId, randomUUID(), typing)
            );
        },

        async end(handoverId, state): Promise<void> {
            assertOpen();
            const session = sessionFor(handoverId, state);
            await session.stream?.stop();
            await withToken(session, (token) => client.endSession(token, session.data.conversationId));
            // A guest (unverified) conversation ends with its session; closing it frees it at once.
            await withToken(session, (token) => client.closeConversation(token, session.data.conversationId));
            stopRenewal(session);
            sessions.delete(handoverId);
        },

        detach(handoverId: string): void {
            const session = sessions.get(handoverId);
            if (!session) return;
            stopRenewal(session);
            sessions.delete(handoverId);
            session.stream?.stop().catch((error: unknown) => {
                logger.warn({ handoverId, err: error }, 'stopping an enhanced chat stream failed');
            });
        },

        onEvent(next: ChatEventSink): void {
            sink = next;
        },

        async close(): Promise<void> {
            closed = true;
            const all = [...sessions.values()];
            sessions.clear();
            for (const session of all) stopRenewal(session);
            await Promise.all(all.map((s) => s.stream?.stop() ?? Promise.resolve()));
        }
    };
}
