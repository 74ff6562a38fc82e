/**
 * The Bring Your Own Channel implementation of the handover core's ChatAdapter (SF_CHAT_API=byoc, issue 19):
 * the bridge is the Messaging channel's partner. The user's side goes to the Interaction Service API
 * (interaction-client.ts); the agent's side comes back as the org's platform event over ONE Pub/Sub subscription
 * for every chat (org-subscription.ts), which one instance holds and writes to byoc_events; each chat's stream
 * (held per chat, as Enhanced Chat's SSE streams are) reads that table from its cursor, the table's `seq`.
 *
 * Open: the end user is the Haptik user (`from` = `haptik:<business>:<user>`, one Messaging end user per Haptik
 * user, so the agent sees earlier sessions too). The bot's conversation (the context the core stored for the
 * handover) is imported with /conversationHistory; the docs give that API to BYOC for CCaaS only, so where the
 * org refuses it (10057, or any refusal) the adapter says so in the log and the first message is the core's
 * briefing (the same text, the same `briefing-<handover>` id), history included; after an import it is the
 * briefing without the history (who, why). That first message carries the routing attributes and starts the
 * Messaging session; the core's own briefing send that follows is then already done.
 *
 * Agent messages are acknowledged `Delivered` once the core has taken them (handed to Haptik's outbox).
 *
 * Files (issue 18): a user's file goes as an `AttachmentInteraction` under an id derived from the bridge's message
 * id (a repeat answers 10073: taken before); the API needs its size first, so a file whose source gave none is
 * measured on disk (files/file-spool.ts), never in memory. An agent's file arrives in an `Attachments` message
 * (event-mapping.ts) and is opened through its URL for the signed file links (interaction-client.ts).
 */
import { randomUUID } from 'node:crypto';
import { BridgeError, asBridgeError, isBridgeError } from '../../core/errors';
import { agentBriefing } from '../../core/handover/bot-context';
import type { BotContextMessage, BotContextV1 } from '../../core/handover/bot-context';
import type { ChatAdapter, ChatEventSink, ChatSessionState, OpenChatRequest } from '../../core/handover/chat-port';
import type { ConversationView } from '../enhanced-chat/event-mapping';
import { toChatUuid } from '../enhanced-chat/chat-ids';
import type { Logger } from '../../observability/logger';
import type { Db } from '../../store/db';
import {
    BYOC_EVENTS_CHANNEL,
    latestEventSeq,
    readEventsAfter,
    readEventsFor,
    subscriptionReady
} from '../../store/byoc-events';
import type { StoredByocEvent } from '../../store/byoc-events';
import { getConversation } from '../../store/conversations';
import type { ByocAuth } from './byoc-auth';
import { mapByocEvent } from './event-mapping';
import type { ByocEvent } from './event-mapping';
import { sendByocFile } from './byoc-files';
import { DOCUMENTED_ATTACHMENT_TYPES } from './interaction-client';
import type { HistoryEntry, InteractionClient } from './interaction-client';
import { createOrgSubscription } from './org-subscription';
import type { OrgSubscriptionOptions } from './org-subscription';

export interface ByocAdapterOptions {
    db: Db;
    auth: ByocAuth;
    client: InteractionClient;
    orgId: string;
    eventTopic: string;
    pubsub: { endpoint: string; transport: 'tls' | 'tls-unverified' | 'plaintext' };
    logger: Logger;
    /** The briefing's labels, as the core writes it (mapping file: handover.briefingHeader, transcript names). */
    briefing: { header: string; userName: string; botName: string; agentName: string };
    /** This process (default random: a restarted process is a new instance). */
    instanceId?: string;
    /** How often each instance looks for events of its chats written by another one (default 500 ms). */
    pollMs?: number;
    subscription?: Pick<OrgSubscriptionOptions, 'leaseMs' | 'tickMs' | 'batch' | 'reconnect'>;
    /** Types sent as files (default Salesforce's documented list); any other reaches the agent as a link. */
    attachmentTypes?: readonly string[];
    clock?: { now(): number };
}

export interface ByocChatData {
    endUserId: string;
    conversationIdentifier?: string;
    /** The bot history went in through /conversationHistory (no briefing message then). */
    historyImported: boolean;
    messagingSessionId?: string;
}

interface Attached {
    handoverId: string;
    data: ByocChatData;
    /** byoc_events.seq of the last event handed to the core. */
    cursor: number;
    view: ConversationView;
}

export function byocEndUserId(conversationKey: string): string {
    const [business, user] = conversationKey.split(':');
    return `haptik:${business ?? ''}:${user ?? ''}`;
}

function readData(handoverId: string, state: ChatSessionState): ByocChatData {
    const { endUserId, conversationIdentifier, historyImported, messagingSessionId } = state.data;
    if (typeof endUserId !== 'string') {
        throw new BridgeError('bridge_chat_state', 'the saved BYOC chat state has no end user id', {
            details: { handoverId, retryable: false }
        });
    }
    return {
        endUserId,
        historyImported: historyImported === true,
        ...(typeof conversationIdentifier === 'string' ? { conversationIdentifier } : {}),
        ...(typeof messagingSessionId === 'string' ? { messagingSessionId } : {})
    };
}

const stateOf = (a: { data: ByocChatData; cursor: number }): ChatSessionState => ({
    data: { ...a.data },
    cursor: String(a.cursor)
});

/** /conversationHistory takes entries of the last 24 hours only (inbound-interaction-api.yaml; code 10046). */
const HISTORY_WINDOW_MS = 23 * 3600_000;
/** Events read per query; a full page means there may be more, read at once. */
const PAGE = 1000;

const historyEntries = (messages: BotContextMessage[], now: number): HistoryEntry[] =>
    messages
        .filter((m) => m.sender !== 'agent')
        .map((m) => ({
            role: m.sender === 'user' ? ('EndUser' as const) : ('Chatbot' as const),
            text: m.text,
            at: Math.min(now, Date.parse(m.at) || now)
        }))
        .filter((entry) => entry.at > now - HISTORY_WINDOW_MS);

export function createByocAdapter(options: ByocAdapterOptions): ChatAdapter {
    const { db, client } = options;
    const logger = options.logger;
    const now = (): number => (options.clock ? options.clock.now() : Date.now());
    const instanceId = options.instanceId ?? randomUUID();
    const pollMs = options.pollMs ?? 500;
    const attachmentTypes = new Set(
        (options.attachmentTypes ?? DOCUMENTED_ATTACHMENT_TYPES).map((t) => t.toLowerCase())
    );
    const attached = new Map<string, Attached>();
    let sink: ChatEventSink | undefined;
    let closed = false;
    let pollTimer: NodeJS.Timeout | undefined;
    let polling: Promise<void> | undefined;
    let pollAgain = false;
    /** byoc_events.seq up to which every attached chat not in `behind` has been offered its events. */
    let scanned: number | undefined;
    const behind = new Set<Attached>();
    let unlisten: (() => Promise<void>) | undefined;

    const subscription = createOrgSubscription({
        db,
        auth: options.auth,
        logger,
        instanceId,
        topic: options.eventTopic,
        orgId: options.orgId,
        pubsub: options.pubsub,
        ...options.subscription,
        onStored: () => wake()
    });

    const assertOpen = (): void => {
        if (closed) {
            throw new BridgeError('bridge_chat_closed', 'the chat adapter is closed', { details: { retryable: true } });
        }
    };

    /** Hands one stored event of a chat to the core, then acknowledges an agent message. */
    const deliver = async (chat: Attached, event: StoredByocEvent): Promise<void> => {
        const payload = event.payload as ByocEvent['payload'];
        const mapped = mapByocEvent(payload, chat.view);
        const learned =
            (payload.conversationIdentifier !== undefined && chat.data.conversationIdentifier === undefined) ||
            (mapped.messagingSessionId !== undefined && mapped.messagingSessionId !== chat.data.messagingSessionId);
        if (learned) {
            chat.data = {
                ...chat.data,
                ...(payload.conversationIdentifier !== undefined && chat.data.conversationIdentifier === undefined
                    ? { conversationIdentifier: payload.conversationIdentifier }
                    : {}),
                ...(mapped.messagingSessionId === undefined ? {} : { messagingSessionId: mapped.messagingSessionId })
            };
        }
        const events = mapped.events;
        if (events.length === 0 && !learned) {
            chat.cursor = event.seq;
            chat.view = mapped.view;
            return;
        }
        const target = sink;
        if (target === undefined) throw new Error('no chat event sink');
        const list = events.length > 0 ? events : [];
        for (let i = 0; i < list.length; i++) {
            const last = i === list.length - 1;
            await target({
                handoverId: chat.handoverId,
                event: list[i]!,
                cursor: last ? String(event.seq) : String(chat.cursor),
                ...(learned ? { state: { data: { ...chat.data }, cursor: String(event.seq) } } : {}),
                ...(chat.data.messagingSessionId === undefined ? {} : { chatRecordId: chat.data.messagingSessionId })
            });
        }
        chat.cursor = event.seq;
        chat.view = mapped.view;
        for (const out of list) {
            if (out.type !== 'agent_message' && out.type !== 'agent_attachment') continue;
            if (chat.data.conversationIdentifier === undefined) continue;
            const conversation = chat.data.conversationIdentifier;
            client
                .acknowledge(conversation, chat.data.endUserId, [
                    { entryId: out.messageId, type: 'Delivered', at: now() }
                ])
                .catch((error: unknown) => {
                    logger.warn(
                        { handoverId: chat.handoverId, code: asBridgeError(error, 'bridge_chat_unavailable').code },
                        'BYOC delivery acknowledgement failed'
                    );
                });
        }
    };

    /**
     * Hands these events to their chats (in `byUser`), oldest first; a chat whose event the core could not take
     * is left out of the rest of the run and returned, to catch up from its cursor at the next look.
     */
    const offer = async (rows: StoredByocEvent[], byUser: Map<string, Attached>): Promise<Attached[]> => {
        const failed: Attached[] = [];
        for (const row of rows) {
            const chat = byUser.get(row.endUserId);
            if (chat === undefined || attached.get(chat.handoverId) !== chat || row.seq <= chat.cursor) continue;
            try {
                await deliver(chat, row);
            } catch (error) {
                // The core could not take it (database busy): the same event comes again at the next look.
                logger.warn(
                    { handoverId: chat.handoverId, code: asBridgeError(error, 'bridge_chat_event_failed').code },
                    'BYOC chat event not handled; trying again'
                );
                byUser.delete(row.endUserId);
                failed.push(chat);
            }
        }
        return failed;
    };

    /**
     * One look at byoc_events. Every chat this instance reads is either caught up to `scanned` (it has had
     * every event of its own up to there) or `behind` (attached with an older cursor, or an event failed): so
     * a look reads only the org's events after `scanned` plus, for the few chats behind, their own events up
     * to it. An idle look is one indexed read whatever the number of open chats.
     */
    const poll = async (): Promise<void> => {
        do {
            pollAgain = false;
            if (attached.size === 0 || sink === undefined) return;
            if (scanned === undefined) {
                scanned = await latestEventSeq(db);
                for (const chat of attached.values()) if (chat.cursor < scanned) behind.add(chat);
            }
            const upTo = scanned;
            if (behind.size > 0) {
                const chats = [...behind].filter((chat) => attached.get(chat.handoverId) === chat);
                behind.clear();
                const rows = await readEventsFor(
                    db,
                    chats.map((c) => ({ endUserId: c.data.endUserId, after: c.cursor })),
                    upTo,
                    PAGE
                );
                const failed = await offer(rows, new Map(chats.map((c) => [c.data.endUserId, c])));
                for (const chat of rows.length === PAGE ? chats : failed) behind.add(chat);
                if (rows.length === PAGE) pollAgain = true;
            }
            const fresh = await readEventsAfter(db, upTo, PAGE);
            if (fresh.length === 0) continue;
            const byUser = new Map<string, Attached>();
            for (const chat of attached.values()) if (!behind.has(chat)) byUser.set(chat.data.endUserId, chat);
            for (const chat of await offer(fresh, byUser)) behind.add(chat);
            scanned = fresh[fresh.length - 1]!.seq;
            if (fresh.length === PAGE) pollAgain = true;
        } while (pollAgain && !closed);
    };

    function wake(): void {
        if (closed) return;
        if (polling !== undefined) {
            pollAgain = true;
            return;
        }
        polling = poll()
            .catch((error: unknown) => {
                logger.error(
                    { code: asBridgeError(error, 'bridge_store_byoc_events').code },
                    'reading BYOC events failed'
                );
            })
            .finally(() => {
                polling = undefined;
                if (pollAgain && !closed) wake();
            });
    }

    const schedulePoll = (): void => {
        if (closed) return;
        pollTimer = setTimeout(() => {
            wake();
            void (polling ?? Promise.resolve()).then(schedulePoll);
        }, pollMs);
        pollTimer.unref();
    };

    const forget = (handoverId: string): void => {
        const chat = attached.get(handoverId);
        if (chat === undefined) return;
        attached.delete(handoverId);
        behind.delete(chat);
    };

    const attach = (handoverId: string, data: ByocChatData, cursor: number): Attached => {
        // One open chat per end user at a time: a newer handover of the same user replaces an older one here.
        for (const [id, other] of attached)
            if (other.data.endUserId === data.endUserId && id !== handoverId) forget(id);
        const known = attached.get(handoverId);
        if (known) return known;
        const chat: Attached = { handoverId, data, cursor, view: { finished: false } };
        attached.set(handoverId, chat);
        if (scanned !== undefined && cursor < scanned) behind.add(chat);
        wake();
        return chat;
    };

    const contextOf = async (conversationKey: string) => {
        const conversation = await getConversation(db, conversationKey);
        const context = conversation?.context as unknown as BotContextV1 | undefined;
        return context?.version === 1 ? context : undefined;
    };

    return {
        kind: 'byoc',
        sendsBeforeAgentJoins: true,

        async open(request: OpenChatRequest): Promise<ChatSessionState> {
            assertOpen();
            const existing = attached.get(request.handoverId);
            if (existing) return stateOf(existing);
            try {
                const prior = request.previous;
                if (prior === undefined && !(await subscriptionReady(db, options.eventTopic))) {
                    // The agent's answers would be published before anyone reads them: wait (not an attempt).
                    throw new BridgeError('bridge_chat_not_ready', 'the BYOC subscription is not reading yet', {
                        details: { retryable: true, deferMs: 500 }
                    });
                }
                const endUserId = byocEndUserId(request.conversationKey);
                // The stream starts after the newest event now: older ones belong to earlier sessions.
                const cursor =
                    prior?.cursor !== undefined && prior.cursor !== null
                        ? Number(prior.cursor)
                        : await latestEventSeq(db);
                let data: ByocChatData =
                    prior !== undefined && prior.data['endUserId'] === endUserId
                        ? readData(request.handoverId, prior)
                        : { endUserId, historyImported: false };
                if (prior === undefined) await request.saveProgress?.({ data: { ...data }, cursor: String(cursor) });
                const context = await contextOf(request.conversationKey);
                const history = historyEntries(context?.recentMessages ?? [], now());
                if (history.length > 0 && !data.historyImported && prior?.data['historyTried'] !== true) {
                    try {
                        const imported = await client.importHistory(
                            endUserId,
                            options.briefing.botName,
                            history,
                            now()
                        );
                        data = {
                            ...data,
                            historyImported: true,
                            ...(imported.conversationIdentifier === undefined
                                ? {}
                                : { conversationIdentifier: imported.conversationIdentifier }),
                            ...(imported.messagingSessionId === undefined
                                ? {}
                                : { messagingSessionId: imported.messagingSessionId })
                        };
                        logger.info(
                            { handoverId: request.handoverId, entries: history.length },
                            'bot history imported into the BYOC session'
                        );
                    } catch (error) {
                        if (
                            !isBridgeError(error, 'bridge_chat_rejected') &&
                            !isBridgeError(error, 'bridge_chat_unauthorized')
                        )
                            throw error;
                        logger.warn(
                            {
                                handoverId: request.handoverId,
                                status: error.details['status'],
                                sfCode: error.details['code']
                            },
                            error.details['code'] === 10057
                                ? 'the org refused the bot history import (10057: /conversationHistory is for BYOC for CCaaS); the briefing message carries the history'
                                : 'the org refused the bot history import; the briefing message carries the history'
                        );
                    }
                    await request.saveProgress?.({ data: { ...data, historyTried: true }, cursor: String(cursor) });
                }
                const opening =
                    context === undefined
                        ? `${options.briefing.header}\n${request.visitorName}`
                        : agentBriefing(
                              data.historyImported ? { ...context, recentMessages: [] } : context,
                              options.briefing
                          );
                try {
                    const answer = await client.sendText(
                        endUserId,
                        { id: toChatUuid('message', `briefing-${request.handoverId}`), text: opening, at: now() },
                        request.routingAttributes
                    );
                    if (answer.conversationIdentifier !== undefined) {
                        data = { ...data, conversationIdentifier: answer.conversationIdentifier };
                    }
                    const workItem = answer.workItemIds[0];
                    if (workItem !== undefined && data.messagingSessionId === undefined)
                        data = { ...data, messagingSessionId: workItem };
                } catch (error) {
                    // 10073: this run's first message was taken before a crash; the session exists.
                    if (!(
                        isBridgeError(error, 'bridge_chat_rejected') &&
                        error.details['code'] === 10073 &&
                        prior !== undefined
                    ))
                        throw error;
                    logger.info({ handoverId: request.handoverId }, 'BYOC first message was sent by an earlier run');
                }
                const chat = attach(request.handoverId, data, cursor);
                chat.data = data;
                logger.info(
                    { handoverId: request.handoverId, historyImported: data.historyImported },
                    'BYOC conversation started'
                );
                return stateOf(chat);
            } catch (error) {
                throw asBridgeError(error, 'bridge_chat_open', 'could not start the BYOC conversation');
            }
        },

        resume(handoverId: string, state: ChatSessionState): Promise<void> {
            try {
                assertOpen();
                const cursor = Number(state.cursor ?? 0);
                attach(handoverId, readData(handoverId, state), Number.isFinite(cursor) ? cursor : 0);
                return Promise.resolve();
            } catch (error) {
                return Promise.reject(asBridgeError(error, 'bridge_chat_resume'));
            }
        },

        async sendMessage(handoverId, state, message): Promise<void> {
            assertOpen();
            const data = attached.get(handoverId)?.data ?? readData(handoverId, state);
            // The core's briefing went as the first message of the session (open).
            if (message.messageId === `briefing-${handoverId}`) return;
            try {
                await client.sendText(data.endUserId, {
                    id: toChatUuid('message', message.messageId),
                    text: message.text,
                    at: now()
                });
            } catch (error) {
                // 10073: a message id used before: an earlier try of this same message was taken.
                if (isBridgeError(error, 'bridge_chat_rejected') && error.details['code'] === 10073) return;
                throw error;
            }
        },

        async sendFile(handoverId, state, file, signal): Promise<void> {
            assertOpen();
            const data = attached.get(handoverId)?.data ?? readData(handoverId, state);
            await sendByocFile(
                client,
                { handoverId, endUserId: data.endUserId, attachmentTypes, at: now() },
                file,
                signal
            );
        },

        openAttachment(_handoverId, _state, attachment, signal) {
            try {
                assertOpen();
            } catch (error) {
                return Promise.reject(asBridgeError(error, 'bridge_chat_closed'));
            }
            // The channel's credentials, not the chat's: any instance can open any chat's file.
            return client.openAttachment(attachment.url, attachment.contentType, signal);
        },

        async sendTyping(handoverId, state, typing): Promise<void> {
            assertOpen();
            const data = attached.get(handoverId)?.data ?? readData(handoverId, state);
            await client.sendTyping(data.endUserId, typing, now());
        },

        async end(handoverId, state): Promise<void> {
            assertOpen();
            const data = attached.get(handoverId)?.data ?? readData(handoverId, state);
            forget(handoverId);
            if (data.conversationIdentifier === undefined) {
                logger.warn(
                    { handoverId },
                    'BYOC chat ended before its conversation identifier was known; not ended in Salesforce'
                );
                return;
            }
            try {
                await client.endSession(data.endUserId, data.conversationIdentifier);
            } catch (error) {
                // 10071: no open session (the agent ended it meanwhile).
                if (isBridgeError(error, 'bridge_chat_rejected') && error.details['code'] === 10071) return;
                throw error;
            }
        },

        detach(handoverId: string): void {
            forget(handoverId);
        },

        onEvent(next: ChatEventSink): void {
            sink = next;
            if (closed || pollTimer !== undefined) return;
            subscription.start();
            schedulePoll();
            void db
                .listen?.(BYOC_EVENTS_CHANNEL, () => wake())
                .then((stop) => {
                    unlisten = stop;
                })
                .catch((error: unknown) => {
                    logger.warn(
                        { code: asBridgeError(error, 'bridge_store_listen').code },
                        'BYOC events: no LISTEN, polling only'
                    );
                });
        },

        async close(): Promise<void> {
            closed = true;
            if (pollTimer) clearTimeout(pollTimer);
            await subscription.stop();
            await polling;
            await unlisten?.();
            attached.clear();
            behind.clear();
        }
    };
}
