/**
 * The legacy Chat REST API (Live Agent) implementation of the handover core's ChatAdapter: the bridge is
 * one chat visitor per handover (salesforce.md §2). Salesforce retired the product on 14 Feb 2026; this
 * adapter serves orgs still migrating. Per session: SessionId → ChasitorInit → one long-poll loop
 * (chat-session.ts); an optional Visitor/Availability check first tells the user "no agents" at once.
 *
 * The chat record: the visitor API never names the LiveChatTranscript, so the adapter reports no
 * `chatRecordId`; the transcript's CaseId (contract §4) is set by Salesforce from the Case pre-chat entity
 * (prechat.ts). The state keeps the session id, which is the transcript's `ChatKey`, for anyone who needs
 * the record (`SELECT Id FROM LiveChatTranscript WHERE ChatKey = …`).
 */
import { BridgeError, asBridgeError } from '../../core/errors';
import type { ChatAdapter, ChatEventSink, ChatSessionState, OpenChatRequest } from '../../core/handover/chat-port';
import type { Logger } from '../../observability/logger';
import type { Metrics } from '../../observability/metrics';
import { LegacyChatSession, readLegacyData } from './chat-session';
import type { LiveSessionData } from './chat-session';
import { createLiveAgentClient, liveAgentApiVersion } from './live-agent-client';
import type { FetchLike, LiveAgentClient, RetryPolicy } from './live-agent-client';
import { chasitorInitBody } from './prechat';
import { sharedFetch } from '../http-pool';

export interface LegacyChatAdapterOptions {
    /** The Chat API endpoint `https://<host>/chat` (SF_LIVEAGENT_URL). */
    liveAgentUrl: string;
    orgId: string;
    deploymentId: string;
    buttonId: string;
    /** SF_API_VERSION (`64.0`); the header carries its major part. */
    apiVersion: string;
    logger: Logger;
    /** Accepted for symmetry with the other adapters; no chat-specific metric exists yet. */
    metrics?: Metrics;
    fetch?: FetchLike;
    /** Ask Visitor/Availability before a chat and fail at once when no agent is online (default true). */
    availabilityCheck?: boolean;
    /** Pre-chat detail label → LiveChatTranscript fields its value is copied into. */
    transcriptFields?: Readonly<Record<string, readonly string[]>>;
    /** The routing attribute holding the user's email (to find the Contact), when one is mapped. */
    contactEmailDetail?: string;
    /** REST retries of network errors and 500/502/504 (default 5 tries, 250 ms doubling to 5 s). */
    retry?: RetryPolicy;
    requestTimeoutMs?: number;
    /** Backoff of the poll loop after errors (default 1 s doubling to 30 s). */
    pollRetry?: { baseMs: number; maxMs: number };
    /** How long a message waits for the agent to accept before its outbox job is retried (default 45 s). */
    establishWaitMs?: number;
    /** Grace on top of clientPollTimeout before a silent poll is abandoned (default 5 s). */
    pollTimeoutMarginMs?: number;
}

const asRecord = (value: unknown): Record<string, unknown> =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

const sameId = (a: unknown, b: string): boolean => typeof a === 'string' && a.slice(0, 15) === b.slice(0, 15);

/** True when the button has an agent online; undefined when the check could not be made. */
async function buttonAvailable(
    client: LiveAgentClient,
    options: LegacyChatAdapterOptions
): Promise<boolean | undefined> {
    const answer = await client.call({
        method: 'GET',
        resource: 'Visitor/Availability',
        query: {
            org_id: options.orgId.slice(0, 15),
            deployment_id: options.deploymentId.slice(0, 15),
            'Availability.ids': options.buttonId.slice(0, 15),
            'Availability.needEstimatedWaitTime': '1'
        }
    });
    if (answer.status !== 200) return undefined;
    const messages = Array.isArray(asRecord(answer.body).messages) ? (asRecord(answer.body).messages as unknown[]) : [];
    const availability = messages.map(asRecord).find((m) => m.type === 'Availability');
    if (availability === undefined) return undefined;
    const results = asRecord(availability.message).results;
    const mine = (Array.isArray(results) ? results : []).map(asRecord).find((r) => sameId(r.id, options.buttonId));
    // Salesforce leaves isAvailable out for a button nobody serves.
    return mine?.isAvailable === true;
}

export function createLegacyChatAdapter(options: LegacyChatAdapterOptions): ChatAdapter {
    const logger = options.logger;
    const client = createLiveAgentClient({
        endpoint: options.liveAgentUrl,
        apiVersion: liveAgentApiVersion(options.apiVersion),
        logger,
        fetch: options.fetch ?? sharedFetch,
        retry: options.retry ?? { attempts: 5, baseMs: 250, maxMs: 5000 },
        requestTimeoutMs: options.requestTimeoutMs ?? 15_000
    });
    const sessions = new Map<string, LegacyChatSession>();
    let sink: ChatEventSink | undefined;
    let closed = false;

    const newSession = (handoverId: string, state: ChatSessionState, origin: 'opened' | 'stored'): LegacyChatSession =>
        new LegacyChatSession(
            {
                client,
                orgId: options.orgId,
                logger,
                sink: () => sink,
                pollRetry: options.pollRetry ?? { baseMs: 1000, maxMs: 30_000 },
                establishWaitMs: options.establishWaitMs ?? 45_000,
                pollTimeoutMarginMs: options.pollTimeoutMarginMs ?? 5000
            },
            handoverId,
            state,
            origin
        );

    const sessionFor = (handoverId: string, state: ChatSessionState): LegacyChatSession => {
        const known = sessions.get(handoverId);
        if (known) return known;
        const session = newSession(handoverId, state, 'stored');
        sessions.set(handoverId, session);
        return session;
    };

    const assertOpen = (): void => {
        if (closed) {
            throw new BridgeError('bridge_chat_closed', 'the chat adapter is closed', { details: { retryable: true } });
        }
    };

    const rejected = (operation: string, status: number): BridgeError =>
        new BridgeError('bridge_chat_rejected', `${operation}: Salesforce answered ${status}`, {
            details: { operation, status, retryable: status >= 500 }
        });

    /** ChasitorInit is sequence 1 of its session: sent again, Salesforce drops it if the first one arrived. */
    const chasitorInit = (request: OpenChatRequest, data: LiveSessionData) =>
        client.call({
            method: 'POST',
            resource: 'Chasitor/ChasitorInit',
            session: { affinityToken: data.affinityToken, sessionKey: data.sessionKey, sequence: 1 },
            body: chasitorInitBody(request, data.sessionId, {
                orgId: options.orgId,
                deploymentId: options.deploymentId,
                buttonId: options.buttonId,
                transcriptFields: options.transcriptFields ?? {},
                ...(options.contactEmailDetail === undefined ? {} : { contactEmailDetail: options.contactEmailDetail })
            })
        });

    /**
     * An open run again after a crash: the session the first run saved gets its ChasitorInit again (a repeat
     * is dropped by its sequence), so the agent's queue holds one chat. Undefined when there is nothing to
     * continue (or that session is gone): a new chat is asked for.
     */
    const continueRequested = async (request: OpenChatRequest): Promise<ChatSessionState | undefined> => {
        const prior = request.previous;
        if (prior === undefined || typeof prior.data['sessionId'] !== 'string') return undefined;
        let data: LiveSessionData;
        try {
            const read = readLegacyData(request.handoverId, prior);
            if ('unavailable' in read) return undefined;
            data = { ...read, sequence: 1, ack: -1, established: false };
        } catch {
            return undefined;
        }
        const init = await chasitorInit(request, data);
        if (init.status < 200 || init.status >= 300) {
            logger.info({ handoverId: request.handoverId, status: init.status }, 'saved live agent session is gone');
            return undefined;
        }
        // From a stored state: it reconnects before it polls (the crashed run's poll may still be open).
        const session = newSession(request.handoverId, { data: { ...data }, cursor: prior.cursor ?? '0' }, 'stored');
        sessions.set(request.handoverId, session);
        logger.info({ handoverId: request.handoverId }, 'live agent chat request continued after a restart');
        session.start();
        return session.toState();
    };

    return {
        kind: 'legacy',
        sendsBeforeAgentJoins: false,

        async open(request: OpenChatRequest): Promise<ChatSessionState> {
            assertOpen();
            const existing = sessions.get(request.handoverId);
            if (existing?.running) return existing.toState();
            try {
                if (options.availabilityCheck !== false) {
                    const available = await buttonAvailable(client, options).catch((error: unknown) => {
                        logger.warn({ code: asBridgeError(error, 'bridge_chat_unavailable').code }, 'availability');
                        return undefined;
                    });
                    if (available === false) {
                        logger.info({ handoverId: request.handoverId }, 'no live agent available; chat not requested');
                        const session = newSession(
                            request.handoverId,
                            { data: { unavailable: true }, cursor: null },
                            'opened'
                        );
                        sessions.set(request.handoverId, session);
                        session.start();
                        return session.toState();
                    }
                }
                const continued = await continueRequested(request);
                if (continued !== undefined) return continued;
                const id = await client.call({
                    method: 'GET',
                    resource: 'System/SessionId',
                    session: { affinityToken: null }
                });
                const body = asRecord(id.body);
                if (id.status !== 200) throw rejected('session_id', id.status);
                if (
                    typeof body.id !== 'string' ||
                    typeof body.key !== 'string' ||
                    typeof body.affinityToken !== 'string'
                ) {
                    throw new BridgeError(
                        'bridge_chat_protocol',
                        'SessionId answered without id, key or affinityToken',
                        {
                            details: { retryable: true }
                        }
                    );
                }
                const data: LiveSessionData = {
                    sessionId: body.id,
                    sessionKey: body.key,
                    affinityToken: body.affinityToken,
                    sequence: 1,
                    ack: -1,
                    clientPollTimeout: typeof body.clientPollTimeout === 'number' ? body.clientPollTimeout : 40,
                    established: false
                };
                // Saved before the chat is asked for: a re-run after a crash continues this session.
                await request.saveProgress?.({ data: { ...data }, cursor: '0' });
                const init = await chasitorInit(request, data);
                if (init.status < 200 || init.status >= 300) throw rejected('chasitor_init', init.status);
                const session = newSession(request.handoverId, { data: { ...data }, cursor: '0' }, 'opened');
                sessions.set(request.handoverId, session);
                logger.info({ handoverId: request.handoverId }, 'live agent chat requested');
                session.start();
                return session.toState();
            } catch (error) {
                throw asBridgeError(error, 'bridge_chat_open', 'could not start the Live Agent chat');
            }
        },

        resume(handoverId: string, state: ChatSessionState): Promise<void> {
            try {
                assertOpen();
                const known = sessions.get(handoverId);
                if (known?.running) return Promise.resolve();
                if (known?.stoppedForGood) sessions.delete(handoverId);
                // A session from the stored state reconnects before it polls: the old process's poll may still
                // be open at Salesforce (a second poll would end the chat) and its sequence may be stale.
                sessionFor(handoverId, state).start();
                return Promise.resolve();
            } catch (error) {
                return Promise.reject(asBridgeError(error, 'bridge_chat_resume'));
            }
        },

        async sendMessage(handoverId, state, message): Promise<void> {
            assertOpen();
            await sessionFor(handoverId, state).sendMessage(message.messageId, message.text);
        },

        async sendTyping(handoverId, state, typing): Promise<void> {
            assertOpen();
            await sessionFor(handoverId, state).sendTyping(typing);
        },

        async end(handoverId, state): Promise<void> {
            assertOpen();
            const session = sessionFor(handoverId, state);
            await session.end();
            sessions.delete(handoverId);
        },

        detach(handoverId: string): void {
            const session = sessions.get(handoverId);
            if (!session) return;
            sessions.delete(handoverId);
            session.stop().catch((error: unknown) => {
                logger.warn({ handoverId, err: error }, 'stopping a live agent poll loop failed');
            });
        },

        onEvent(next: ChatEventSink): void {
            sink = next;
        },

        async close(): Promise<void> {
            closed = true;
            const all = [...sessions.values()];
            sessions.clear();
            await Promise.all(all.map((s) => s.stop()));
        }
    };
}
