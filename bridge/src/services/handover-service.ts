import { randomUUID } from 'node:crypto';
import { channelOf } from '../core/case-templates';
import { asBridgeError, BridgeError, isBridgeError } from '../core/errors';
import { cutText } from '../core/text';
import { agentBriefing, BOT_CONTEXT_MAX_CHARS, buildBotContext, fitBotContext } from '../core/handover/bot-context';
import type { BotContextMessage, BotContextV1, CrmMatch, HandoverTrigger } from '../core/handover/bot-context';
import type { ChatAdapter, ChatEventEnvelope, ChatSessionState } from '../core/handover/chat-port';
import { initialMachine, isTerminal, stateFromStored, storedState, transition } from '../core/handover/handover-state';
import type { HandoverEffect, HandoverInput, HandoverMachine } from '../core/handover/handover-state';
import { routingAttributesOf } from '../core/handover/handover-settings';
import type { HandoverSettings } from '../core/handover/handover-settings';
import { renderNotice } from '../core/handover/notices';
import type { NoticeRequest } from '../core/handover/notices';
import { isEndKeyword, renderUserMessage } from '../core/handover/user-message';
import { historySender } from '../core/transcript';
import type { HaptikClient } from '../haptik/haptik-client';
import type { ThreadControlDirectory } from '../haptik/thread-control';
import { textHsl } from '../haptik/hsl';
import type {
    HaptikIntegrationRequest,
    HaptikIntegrationResponse,
    TractEventPayload,
    TractMessagePayload
} from '../haptik/payloads';
import type { Logger } from '../observability/logger';
import type { SalesforceClient } from '../salesforce/salesforce-client';
import { findActiveHandoverForUser, lockHandoverSession } from '../store/active-handovers';
import { conversationKey, getConversation, setConversationCase, upsertConversation } from '../store/conversations';
import type { Db, Queryable } from '../store/db';
import {
    createHandoverSession,
    getActiveHandover,
    getHandoverSession,
    updateHandoverSession
} from '../store/handover-sessions';
import type { HandoverSession } from '../store/handover-sessions';
import { markInboundProcessed, recordInboundEvent } from '../store/inbox';
import { appendMessage, listMessages } from '../store/message-log';
import { getOutboxJob } from '../store/outbox';
import { isPermanentFailure, permanentFailure } from '../store/outbox-worker';
import type { OutboxHandlers } from '../store/outbox-worker';
import type { CustomerLookupService } from './customer-lookup-service';
import type { StreamOwnership } from './stream-ownership';
import type { TranscriptCaseService } from './transcript-case-service';
import type { UserNames } from './user-names';
import { chatOrderingKey, enqueueHandoverJob, parseHandoverJob } from './handover-jobs';
import { enqueueOutbound } from './outbound-jobs';

/**
 * The handover route's answer: Haptik's integration response plus what Haptik's own Salesforce guide returns
 * from a Code node to move thread control (`callback_ops.tract_atc.receiver`: the bridge's receiver id).
 */
export type HandoverAnswer = HaptikIntegrationResponse & { callback_ops: { tract_atc: { receiver: string } } };

/**
 * Live-agent handover (issue 6): starts a chat with a Salesforce agent when the bot asks for one, relays
 * the user's and the agent's messages, and hands the user back to the bot when the chat ends.
 *
 * Durability: every input (trigger, TRACT message, chat event, timer) is handled in ONE transaction that
 * stores the new state, the adapter's state and cursor, the logged messages and the outbox jobs of its
 * effects; the outbox makes the calls afterwards, in order per Haptik user and per chat. Any instance
 * takes any request; each open chat's event stream is read by one instance (stream-ownership.ts), and
 * the one that takes it over after a crash resumes it from its stored cursor; a replayed agent message
 * finds its entry id in the message log and is not sent again. Inputs of one handover are serialised in
 * this process, and the session row is locked, so two inputs never interleave across processes either.
 */
export interface HandoverService {
    /** `POST /haptik/integrations/handover`: answers at once with the text the user sees. */
    startFromIntegration(request: HaptikIntegrationRequest): Promise<HandoverAnswer>;
    /** TRACT `message/receive`: relays the user's message (once per message_id) or ends on the keyword. */
    onTractMessage(payload: TractMessagePayload, eventId: string): Promise<TractOutcome>;
    /** TRACT events: `collection_state`/`incomplete` starts a handover, `collection_state`/`complete` ends one. */
    onTractEvent(payload: TractEventPayload, eventId: string): Promise<TractOutcome>;
    /** The chat adapter's sink. */
    onChatEvent(envelope: ChatEventEnvelope): Promise<void>;
    /** Outbox handlers of the handover job kinds. */
    handlers: OutboxHandlers;
    /** Starts reading the stream of an open chat this instance took over, from its stored cursor. */
    resumeStream(handoverId: string): Promise<void>;
}

export type TractOutcome = 'accepted' | 'duplicate' | 'ignored';

export interface HandoverServiceDeps {
    db: Db;
    outbox: { notify(): void };
    chat: ChatAdapter;
    /** Which chats' streams this instance reads (several instances may share the database). */
    streams: Pick<StreamOwnership, 'claimForOpen' | 'holds' | 'forget'>;
    settings: HandoverSettings;
    businessId: string;
    haptik: Pick<HaptikClient, 'getChatHistory'>;
    salesforce: Pick<SalesforceClient, 'update'>;
    customerLookup?: CustomerLookupService | undefined;
    /** The bridge's TRACT receiver id, for the handover answer's callback_ops. */
    threadControl: Pick<ThreadControlDirectory, 'receivers'>;
    /** The Haptik user name of a user TRACT named only by id (for the bot history). */
    userNames?: Pick<UserNames, 'nameOf'> | undefined;
    /** Files the transcript Case of a conversation TRACT reports complete. */
    transcripts?: Pick<TranscriptCaseService, 'onTractComplete'> | undefined;
    logger: Logger;
    clock: { now(): Date };
    /** The mapping file's redaction rules: the bot context and the briefing go through them. */
    redact?: ((text: string) => string) | undefined;
    /** Labels of the agent's briefing (default User / Bot / Agent). */
    names?: { userName: string; botName: string; agentName: string } | undefined;
}

/** What the service keeps next to the adapter's own state in `adapter_state`. */
interface CoreState {
    machine: Omit<HandoverMachine, 'state'>;
    userId: string;
    language: string;
    /** Name shown to the agent and in the event Case. */
    visitorName: string;
    channel: string;
    /** The conversation Case's upsert job, for the chat record's CaseId. */
    caseJobId?: string;
    briefingSent?: boolean;
    /** Numbers the notices of this handover (their Haptik message ids). */
    seq: number;
}

interface StoredAdapterState {
    core: CoreState;
    chat?: Record<string, unknown>;
}

const TRACT_MESSAGE_SOURCE = 'haptik.tract.message';
const TRACT_EVENT_SOURCE = 'haptik.tract.event';
/** TRACT senders whose messages are the user's own (haptik.md §A3). */
const USER_SENDERS = new Set(['ceu', 'user', '']);

function haptikOrderingKey(userId: string): string {
    return `haptik:user:${userId}`;
}

function adapterStateOf(session: HandoverSession): StoredAdapterState {
    const raw = session.adapterState as Partial<StoredAdapterState>;
    if (raw.core === undefined) {
        throw new BridgeError('bridge_handover_state_unreadable', 'The handover has no core state', {
            details: { handoverId: session.id }
        });
    }
    return { core: raw.core, ...(raw.chat === undefined ? {} : { chat: raw.chat }) };
}

function machineOf(session: HandoverSession, core: CoreState): HandoverMachine {
    return { ...core.machine, state: stateFromStored(session.state, session.stateReason) };
}

function chatStateOf(session: HandoverSession): ChatSessionState {
    return { data: adapterStateOf(session).chat ?? {}, cursor: session.lastEventId };
}

function triggerFromIntegration(request: HaptikIntegrationRequest): HandoverTrigger {
    return {
        source: 'integration',
        user: {
            user_id: request.user.user_id,
            user_name: request.user.user_name,
            full_name: request.user.full_name,
            auth_id: request.user.auth_id,
            language_code: request.user.language_code,
            device_platform: request.user.device_platform
        },
        conversationNo: request.conversation_no ?? '0',
        node: request.node,
        conversation_details: request.conversation_details,
        user_details: request.user_details,
        entities: request.entities
    };
}

/** Adapters that keep the chat record id in their state (Enhanced Chat: `messagingSessionId`). */
function chatRecordIdOf(state: ChatSessionState | undefined): string | undefined {
    const value = state?.data['messagingSessionId'] ?? state?.data['chatRecordId'];
    return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `Haptik_Bot_Context__c` of a stored context, fitted to the field (never STRING_TOO_LONG; left out if it cannot be). */
function botContextField(context: Record<string, unknown>): { Haptik_Bot_Context__c?: string } {
    const json = JSON.stringify(
        (context as Partial<BotContextV1>).version === 1 ? fitBotContext(context as unknown as BotContextV1) : context
    );
    return json.length <= BOT_CONTEXT_MAX_CHARS ? { Haptik_Bot_Context__c: json } : {};
}

function fill(template: string, values: Record<string, string>): string {
    return template.replace(/\{(\w+)\}/g, (_, key: string) => values[key] ?? '');
}

export function createHandoverService(deps: HandoverServiceDeps): HandoverService {
    const { db, chat, settings, clock } = deps;
    const logger = deps.logger.child({ component: 'handover' });
    const names = deps.names ?? { userName: 'User', botName: 'Bot', agentName: 'Agent' };
    const recordType = chat.kind === 'legacy' ? 'LiveChatTranscript' : 'MessagingSession';

    // Inputs of one handover run one after another in this process (the row lock covers other processes).
    const queues = new Map<string, Promise<unknown>>();
    function serial<T>(handoverId: string, work: () => Promise<T>): Promise<T> {
        const previous = queues.get(handoverId) ?? Promise.resolve();
        const next = previous.then(work, work);
        const settled = next.then(
            () => undefined,
            () => undefined
        );
        queues.set(handoverId, settled);
        void settled.then(() => {
            if (queues.get(handoverId) === settled) queues.delete(handoverId);
        });
        return next;
    }

    // ------------------------------------------------------------------------------------------
    // Effects, inside the caller's transaction

    interface Applied {
        detach: boolean;
    }

    async function enqueueNotice(
        tx: Queryable,
        session: HandoverSession,
        core: CoreState,
        notice: NoticeRequest
    ): Promise<void> {
        core.seq += 1;
        const text = renderNotice(settings.notices, core.language, notice);
        const messageId = `notice:${session.id}:${core.seq}`;
        await appendMessage(tx, {
            conversationKey: session.conversationKey,
            handoverId: session.id,
            direction: 'out',
            sender: 'system',
            text,
            externalId: messageId
        });
        await enqueueOutbound(tx, 'haptik.message', {
            orderingKey: haptikOrderingKey(core.userId),
            idempotencyKey: `haptik-msg:${messageId}`,
            payload: { userId: core.userId, hsl: textHsl(text), metadata: { message_id: messageId } }
        });
    }

    async function enqueueEventCase(
        tx: Queryable,
        session: HandoverSession,
        core: CoreState,
        reason: string
    ): Promise<void> {
        const conversation = await getConversation(tx, session.conversationKey);
        const context = conversation?.context ?? {};
        const values = { name: core.visitorName, channel: core.channel, reason };
        const crm = (context as Partial<BotContextV1>).crm;
        const eventKey = `handover:${session.id}`;
        const fields: Record<string, unknown> = {
            Subject: cutText(fill(settings.eventCase.subject, values), 255),
            Description: cutText(fill(settings.eventCase.description, values), 32000),
            Origin: settings.eventCase.origin,
            ...(settings.eventCase.status === undefined ? {} : { Status: settings.eventCase.status }),
            Haptik_User_Id__c: core.userId,
            Haptik_Channel__c: core.channel,
            ...(Object.keys(context).length === 0 ? {} : botContextField(context)),
            ...(crm?.objectType === 'Contact' ? { ContactId: crm.id } : {}),
            ...(crm?.objectType === 'Account' || crm?.objectType === 'PersonAccount' ? { AccountId: crm.id } : {})
        };
        await enqueueOutbound(tx, 'salesforce.upsert', {
            orderingKey: `case:${eventKey}`,
            idempotencyKey: `handover-event-case:${session.id}`,
            payload: { type: 'Case', externalIdField: 'Haptik_Event_Key__c', externalId: eventKey, fields }
        });
    }

    async function applyEffects(
        tx: Queryable,
        session: HandoverSession,
        core: CoreState,
        effects: readonly HandoverEffect[]
    ): Promise<Applied> {
        const applied: Applied = { detach: false };
        for (const effect of effects) {
            switch (effect.kind) {
                case 'notice':
                    await enqueueNotice(tx, session, core, effect.notice);
                    break;
                case 'allocated':
                    core.seq += 1;
                    await enqueueOutbound(tx, 'haptik.event', {
                        orderingKey: haptikOrderingKey(core.userId),
                        idempotencyKey: `haptik-event:${session.id}:${core.seq}`,
                        // Haptik's event table lists `allocated` under `message`; event metadata is a string.
                        payload: {
                            userId: core.userId,
                            category: 'message',
                            subcategory: 'allocated',
                            metadata: JSON.stringify({ agent_name: effect.agentName })
                        }
                    });
                    break;
                case 'relay_to_user': {
                    const logged = await appendMessage(tx, {
                        conversationKey: session.conversationKey,
                        handoverId: session.id,
                        direction: 'out',
                        sender: 'agent',
                        text: effect.text,
                        externalId: effect.messageId
                    });
                    // A replayed entry (stream resumed from an older cursor) was relayed already.
                    if (logged.duplicate) break;
                    await enqueueOutbound(tx, 'haptik.message', {
                        orderingKey: haptikOrderingKey(core.userId),
                        idempotencyKey: `haptik-msg:agent:${session.id}:${effect.messageId}`,
                        payload: {
                            userId: core.userId,
                            hsl: textHsl(effect.text),
                            metadata: {
                                message_id: effect.messageId,
                                ...(effect.agentName === undefined ? {} : { agent_name: effect.agentName })
                            }
                        }
                    });
                    break;
                }
                case 'end_chat':
                    await enqueueHandoverJob(tx, 'chat.end', {
                        orderingKey: chatOrderingKey(session.id),
                        idempotencyKey: `chat.end:${session.id}`,
                        payload: { handoverId: session.id }
                    });
                    break;
                case 'pass_to_bot':
                    await enqueueOutbound(tx, 'haptik.thread_control', {
                        orderingKey: haptikOrderingKey(core.userId),
                        idempotencyKey: `haptik-pass:${session.id}`,
                        payload: {
                            userId: core.userId,
                            requester: settings.threadControl.requester,
                            receiver: settings.threadControl.receiver
                        }
                    });
                    break;
                case 'event_case':
                    await enqueueEventCase(tx, session, core, effect.reason);
                    break;
                case 'detach':
                    applied.detach = true;
                    break;
            }
        }
        return applied;
    }

    /**
     * Runs one input against the locked session: transition, effects, new state, all in one
     * transaction. An illegal input changes nothing but what `extra` stores (e.g. the stream cursor).
     */
    async function applyInput(
        handoverId: string,
        input: HandoverInput | undefined,
        extra: {
            chatState?: ChatSessionState | undefined;
            /** A new stream position without new adapter data. */
            cursor?: string | null | undefined;
            /** Replace the adapter state even when events were handled first (open() result). */
            chatStateOnlyIfUnopened?: boolean;
            chatRecordId?: string | undefined;
            /** A chat event: only the instance holding the chat's stream may act on it. */
            fromStream?: boolean;
            /** After the transition's effects, when the input applied (same transaction). */
            after?: (
                tx: Queryable,
                session: HandoverSession,
                core: CoreState,
                from: HandoverMachine,
                to: HandoverMachine
            ) => Promise<void>;
            before?: (tx: Queryable, session: HandoverSession, core: CoreState) => Promise<void>;
        } = {}
    ): Promise<{ applied: boolean; session?: HandoverSession }> {
        return serial(handoverId, async () => {
            let detach = false;
            const outcome = await db.transaction(async (tx) => {
                const session = await lockHandoverSession(tx, handoverId);
                if (session === undefined) return { applied: false };
                if (extra.fromStream === true && !deps.streams.holds(session)) {
                    // Another instance took this chat over (this one was paused or cut off): it acts, not us.
                    detach = true;
                    logger.warn({ handoverId }, 'chat event from a stream this instance no longer holds; stopped');
                    return { applied: false };
                }
                const stored = adapterStateOf(session);
                const core: CoreState = structuredClone(stored.core);
                const machine = machineOf(session, core);
                let next: HandoverMachine = machine;
                let effects: HandoverEffect[] = [];
                let applied = input === undefined;
                if (input !== undefined) {
                    try {
                        ({ machine: next, effects } = transition(machine, input, {
                            now: clock.now(),
                            waitNoticeIntervalMs: settings.notices.waitNoticeIntervalMs
                        }));
                        applied = true;
                    } catch (error) {
                        if (!isBridgeError(error, 'bridge_handover_illegal_transition')) throw error;
                        logger.debug({ handoverId, code: error.code, ...error.details }, 'handover input ignored');
                    }
                }
                if (extra.before) await extra.before(tx, session, core);
                const result = await applyEffects(tx, session, core, effects);
                detach = result.detach;
                if (extra.after && applied && input !== undefined) await extra.after(tx, session, core, machine, next);

                const { state: _state, ...machineRest } = next;
                core.machine = machineRest;
                let chatData = stored.chat;
                let cursor = session.lastEventId;
                if (extra.chatState !== undefined && !(extra.chatStateOnlyIfUnopened && machine.chatOpened)) {
                    chatData = extra.chatState.data;
                    cursor = extra.chatState.cursor;
                } else if (extra.cursor !== undefined) {
                    cursor = extra.cursor;
                }
                let salesforceSessionId = session.salesforceSessionId;
                if (extra.chatRecordId !== undefined && extra.chatRecordId !== salesforceSessionId) {
                    salesforceSessionId = extra.chatRecordId;
                    if (core.caseJobId !== undefined) {
                        await enqueueHandoverJob(tx, 'handover.link_case', {
                            orderingKey: `case:conv:${session.conversationKey}`,
                            idempotencyKey: `link-case:${session.id}:${extra.chatRecordId}`,
                            payload: {
                                handoverId: session.id,
                                chatRecordId: extra.chatRecordId,
                                caseJobId: core.caseJobId,
                                recordType
                            }
                        });
                    }
                }
                const unchanged =
                    effects.length === 0 &&
                    next === machine &&
                    chatData === stored.chat &&
                    cursor === session.lastEventId &&
                    salesforceSessionId === session.salesforceSessionId &&
                    JSON.stringify(core) === JSON.stringify(stored.core);
                // A relayed user message changes only other tables: one statement less per message.
                if (unchanged) return { applied, session };
                const target = storedState(next.state);
                const updated = await updateHandoverSession(tx, session.id, session.state, {
                    state: target.state,
                    stateReason: target.reason,
                    adapterState: { core, ...(chatData === undefined ? {} : { chat: chatData }) },
                    lastEventId: cursor,
                    agentName: next.agentName,
                    salesforceSessionId
                });
                return { applied, ...(updated === undefined ? {} : { session: updated }) };
            });
            deps.outbox.notify();
            if (detach) {
                deps.streams.forget(handoverId);
                chat.detach(handoverId);
            }
            return outcome;
        });
    }

    /**
     * The agent just joined a chat whose API refuses messages before that: the briefing, then what the
     * user wrote while waiting, in order, with the same idempotency keys as a direct relay would use.
     */
    async function sendHeldMessages(
        tx: Queryable,
        session: HandoverSession,
        core: CoreState,
        from: HandoverMachine,
        to: HandoverMachine
    ): Promise<void> {
        if (to.state !== 'with_agent' || from.state === 'with_agent') return;
        const orderingKey = chatOrderingKey(session.id);
        if (core.briefingSent !== true) {
            const conversation = await getConversation(tx, session.conversationKey);
            const context = conversation?.context as unknown as BotContextV1 | undefined;
            if (context !== undefined && context.version === 1 && context.recentMessages.length > 0) {
                await enqueueHandoverJob(tx, 'chat.send_message', {
                    orderingKey,
                    idempotencyKey: `chat.msg:${session.id}:briefing`,
                    payload: {
                        handoverId: session.id,
                        messageId: `briefing-${session.id}`,
                        text: agentBriefing(context, { header: settings.briefingHeader, ...names })
                    }
                });
            }
            core.briefingSent = true;
        }
        const held = await listMessages(tx, session.conversationKey, { handoverId: session.id });
        for (const message of held) {
            if (message.direction !== 'in' || message.sender !== 'user' || message.externalId === null) continue;
            if (message.text === '' || isEndKeyword(message.text, settings.endKeywords)) continue;
            await enqueueHandoverJob(tx, 'chat.send_message', {
                orderingKey,
                idempotencyKey: `chat.msg:${session.id}:${message.externalId}`,
                payload: { handoverId: session.id, messageId: `haptik-${message.externalId}`, text: message.text }
            });
        }
    }

    // ------------------------------------------------------------------------------------------
    // Triggers

    /**
     * Starts a handover unless one is active. `record` stores the triggering event in the same
     * transaction and says whether it was seen before: then nothing is started and undefined is returned.
     */
    async function startHandover(
        trigger: HandoverTrigger
    ): Promise<{ created: boolean; session: HandoverSession; language: string }>;
    async function startHandover(
        trigger: HandoverTrigger,
        record: (tx: Queryable) => Promise<boolean>
    ): Promise<{ created: boolean; session: HandoverSession; language: string } | undefined>;
    async function startHandover(
        trigger: HandoverTrigger,
        record?: (tx: Queryable) => Promise<boolean>
    ): Promise<{ created: boolean; session: HandoverSession; language: string } | undefined> {
        const userId = trigger.user.user_id;
        const language = (trigger.user.language_code ?? '').trim() || settings.notices.defaultLanguage;
        const channel = channelOf(trigger.user.device_platform);
        const visitorName =
            (trigger.user.full_name ?? '').trim() || (trigger.user.user_name ?? '').trim() || `Haptik user ${userId}`;
        const result = await db.transaction(async (tx) => {
            if (record !== undefined && (await record(tx))) return undefined;
            const conversation = await upsertConversation(tx, {
                businessId: deps.businessId,
                userId,
                conversationNo: trigger.conversationNo,
                channel
            });
            const id = randomUUID();
            const core: CoreState = {
                machine: (({ state: _s, ...rest }) => rest)(initialMachine()),
                userId,
                language,
                visitorName,
                channel,
                seq: 0
            };
            const started = await createHandoverSession(tx, {
                id,
                conversationKey: conversation.key,
                adapter: chat.kind,
                state: 'requested',
                adapterState: { core }
            });
            if (!started.created) return { ...started, language };
            await enqueueHandoverJob(tx, 'chat.open', {
                orderingKey: chatOrderingKey(id),
                idempotencyKey: `chat.open:${id}`,
                payload: { handoverId: id, trigger }
            });
            await enqueueHandoverJob(tx, 'handover.timeout', {
                orderingKey: `handover-timer:${id}`,
                idempotencyKey: `handover.timeout:${id}`,
                payload: { handoverId: id },
                runAt: new Date(clock.now().getTime() + settings.noAgentTimeoutMs)
            });
            if (trigger.source === 'tract_event') {
                // The integration route answers with this text itself; a TRACT trigger has no answer.
                await enqueueNotice(tx, started.session, core, { key: 'connecting' });
                await updateHandoverSession(tx, id, 'requested', { adapterState: { core } });
            }
            return { ...started, language };
        });
        if (result === undefined) return undefined;
        deps.outbox.notify();
        logger.info(
            { handoverId: result.session.id, created: result.created, source: trigger.source },
            result.created ? 'handover requested' : 'handover already active'
        );
        return result;
    }

    // ------------------------------------------------------------------------------------------
    // Opening the chat (outbox job chat.open)

    async function crmMatch(trigger: HandoverTrigger): Promise<CrmMatch | undefined> {
        if (deps.customerLookup === undefined || trigger.source !== 'integration') return undefined;
        try {
            const answer = await deps.customerLookup.lookup({
                user: {
                    auth_id: trigger.user.auth_id ?? undefined,
                    user_name: trigger.user.user_name ?? undefined,
                    user_id: trigger.user.user_id
                },
                user_details: trigger.user_details,
                conversation_details: trigger.conversation_details,
                entities: Object.fromEntries(
                    Object.entries(trigger.entities ?? {}).map(([name, values]) => [name, [...values]])
                )
            });
            const details = answer.user_details;
            if (details['crm_found'] !== true || typeof details['crm_id'] !== 'string') return undefined;
            const name = details['name'];
            return {
                objectType: typeof details['crm_object'] === 'string' ? details['crm_object'] : 'Contact',
                id: details['crm_id'],
                ...(typeof name === 'string' && name !== '' ? { name } : {})
            };
        } catch (error) {
            logger.warn(
                { code: asBridgeError(error, 'bridge_crm_lookup_failed').code },
                'CRM match for a handover failed'
            );
            return undefined;
        }
    }

    async function recentMessages(trigger: HandoverTrigger, key: string): Promise<BotContextMessage[]> {
        const limit = settings.recentMessages;
        if (limit === 0) return [];
        // A TRACT trigger names no user: the name remembered from integration calls or TRACT's user API.
        const userName =
            (trigger.user.user_name ?? '').trim() ||
            ((await deps.userNames?.nameOf(trigger.user.user_id).catch(() => undefined)) ?? '');
        if (userName !== '') {
            try {
                const history = await deps.haptik.getChatHistory({ userName, conversationNo: trigger.conversationNo });
                return history
                    .map((entry) => ({ entry, role: historySender(entry.sender).role }))
                    .filter(({ entry, role }) => role !== 'system' && entry.plainText.trim() !== '')
                    .slice(-limit)
                    .map(({ entry, role }) => ({
                        sender: role === 'user' ? 'user' : role === 'bot' ? 'bot' : 'agent',
                        text: entry.plainText,
                        at: (entry.at ?? clock.now()).toISOString()
                    }));
            } catch (error) {
                logger.warn(
                    { code: asBridgeError(error, 'bridge_haptik_unavailable').code },
                    'bot history for a handover could not be read; using the bridge log'
                );
            }
        }
        const logged = await listMessages(db, key, { limit });
        return logged
            .filter((m) => m.sender !== 'system')
            .map((m) => ({
                sender: m.sender === 'user' ? 'user' : m.sender === 'agent' ? 'agent' : 'bot',
                text: m.text,
                at: m.createdAt.toISOString()
            }));
    }

    async function openChat(payload: { handoverId: string; trigger: HandoverTrigger }): Promise<unknown> {
        const { handoverId, trigger } = payload;
        let session = await getHandoverSession(db, handoverId);
        if (session === undefined || isTerminal(stateFromStored(session.state, session.stateReason))) {
            return { skipped: 'not active' };
        }
        let core = adapterStateOf(session).core;
        if (!core.machine.chatOpened) {
            const crm = await crmMatch(trigger);
            const messages = await recentMessages(trigger, session.conversationKey);
            const context = buildBotContext({
                trigger,
                channel: core.channel,
                crm,
                messages,
                maxMessages: settings.recentMessages,
                defaultLanguage: settings.notices.defaultLanguage,
                defaultReason: settings.defaultReason,
                redact: deps.redact
            });
            const conversationKeyOf = session.conversationKey;
            await applyInput(handoverId, undefined, {
                before: async (tx, current, coreNow) => {
                    // This instance opens the chat, so it reads its stream (until it stops or dies).
                    await deps.streams.claimForOpen(tx, current.id);
                    await upsertConversation(tx, {
                        businessId: deps.businessId,
                        userId: coreNow.userId,
                        conversationNo: trigger.conversationNo,
                        context: context as unknown as Record<string, unknown>
                    });
                    if (coreNow.caseJobId !== undefined) return;
                    const job = await enqueueOutbound(tx, 'salesforce.upsert', {
                        orderingKey: `case:conv:${current.conversationKey}`,
                        idempotencyKey: `handover-case:${current.id}`,
                        payload: {
                            type: 'Case',
                            externalIdField: 'Haptik_Conversation_Key__c',
                            externalId: current.conversationKey,
                            fields: {
                                Subject: cutText(`Chat with ${coreNow.visitorName} on ${coreNow.channel}`, 255),
                                Origin: settings.eventCase.origin,
                                Haptik_User_Id__c: coreNow.userId,
                                Haptik_Channel__c: coreNow.channel,
                                Haptik_Bot_Context__c: JSON.stringify(context),
                                ...(crm?.objectType === 'Contact' ? { ContactId: crm.id } : {})
                            }
                        }
                    });
                    coreNow.caseJobId = job.id;
                }
            });
            const conversation = await getConversation(db, conversationKeyOf);
            // What an earlier run of this job saved before it asked for the chat (it was cut off): continued.
            const saved = adapterStateOf(session).chat;
            let state: ChatSessionState;
            try {
                state = await chat.open({
                    handoverId,
                    conversationKey: conversationKeyOf,
                    visitorName: core.visitorName,
                    language: core.language,
                    routingAttributes: routingAttributesOf(settings.routingAttributes, context, conversationKeyOf),
                    ...(conversation?.caseId ? { caseId: conversation.caseId } : {}),
                    ...(saved === undefined || Object.keys(saved).length === 0
                        ? {}
                        : { previous: { data: saved, cursor: session.lastEventId } }),
                    saveProgress: async (progress) => {
                        await applyInput(handoverId, undefined, { chatState: progress, chatStateOnlyIfUnopened: true });
                    }
                });
            } catch (error) {
                if (!isPermanentFailure(error)) throw error;
                logger.warn(
                    { handoverId, code: asBridgeError(error, 'bridge_handover_open_failed').code },
                    'chat refused'
                );
                await applyInput(handoverId, { type: 'open_failed' });
                return { opened: false };
            }
            const after = await applyInput(
                handoverId,
                { type: 'chat_opened' },
                { chatState: state, chatStateOnlyIfUnopened: true, chatRecordId: chatRecordIdOf(state) }
            );
            if (after.session === undefined) return { opened: true, briefing: false };
            session = after.session;
            core = adapterStateOf(session).core;
            if (isTerminal(stateFromStored(session.state, session.stateReason))) return { opened: true };
        }
        // Where messages wait for the agent, the briefing goes when the agent joins (sendHeldMessages).
        if (core.briefingSent !== true && chat.sendsBeforeAgentJoins) {
            const conversation = await getConversation(db, session.conversationKey);
            const context = conversation?.context as unknown as BotContextV1 | undefined;
            if (context !== undefined && context.version === 1 && context.recentMessages.length > 0) {
                const text = agentBriefing(context, { header: settings.briefingHeader, ...names });
                await chat.sendMessage(handoverId, chatStateOf(session), { messageId: `briefing-${handoverId}`, text });
            }
            await applyInput(handoverId, undefined, {
                before: (_tx, _s, coreNow) => {
                    coreNow.briefingSent = true;
                    return Promise.resolve();
                }
            });
        }
        return { opened: true };
    }

    // ------------------------------------------------------------------------------------------
    // Outbox handlers

    const handlers: OutboxHandlers = {
        'chat.open': (raw) => openChat(parseHandoverJob('chat.open', raw)),
        'chat.send_message': async (raw) => {
            const p = parseHandoverJob('chat.send_message', raw);
            const session = await getHandoverSession(db, p.handoverId);
            if (session === undefined || isTerminal(stateFromStored(session.state, session.stateReason))) {
                return { skipped: 'not active' };
            }
            await chat.sendMessage(p.handoverId, chatStateOf(session), { messageId: p.messageId, text: p.text });
            return { sent: true };
        },
        'chat.typing': async (raw) => {
            const p = parseHandoverJob('chat.typing', raw);
            const session = await getHandoverSession(db, p.handoverId);
            if (session === undefined || isTerminal(stateFromStored(session.state, session.stateReason))) {
                return { skipped: 'not active' };
            }
            await chat.sendTyping(p.handoverId, chatStateOf(session), p.typing);
            return { sent: true };
        },
        'chat.end': async (raw) => {
            const p = parseHandoverJob('chat.end', raw);
            const session = await getHandoverSession(db, p.handoverId);
            if (session === undefined) return { skipped: 'unknown' };
            await chat.end(p.handoverId, chatStateOf(session));
            return { ended: true };
        },
        'handover.timeout': async (raw) => {
            const p = parseHandoverJob('handover.timeout', raw);
            const { applied } = await applyInput(p.handoverId, { type: 'timeout' });
            return { timedOut: applied };
        },
        'handover.link_case': async (raw) => {
            const p = parseHandoverJob('handover.link_case', raw);
            const job = await getOutboxJob(db, p.caseJobId);
            if (job === undefined || job.state === 'dead') {
                throw permanentFailure(
                    new BridgeError('bridge_handover_case_missing', 'The conversation Case could not be written')
                );
            }
            const result = job.result as { id?: unknown } | null;
            if (job.state !== 'done' || typeof result?.id !== 'string') {
                throw new BridgeError('bridge_handover_case_pending', 'The conversation Case is not written yet');
            }
            const session = await getHandoverSession(db, p.handoverId);
            if (session !== undefined) await setConversationCase(db, session.conversationKey, { caseId: result.id });
            await deps.salesforce.update(p.recordType, p.chatRecordId, { CaseId: result.id });
            return { caseId: result.id };
        }
    };

    // ------------------------------------------------------------------------------------------
    // TRACT hooks and chat events

    async function activeFor(
        userId: string,
        conversationNo: string | null | undefined
    ): Promise<HandoverSession | undefined> {
        if (conversationNo !== null && conversationNo !== undefined) {
            const found = await getActiveHandover(db, conversationKey(deps.businessId, userId, conversationNo));
            if (found !== undefined) return found;
        }
        return findActiveHandoverForUser(db, deps.businessId, userId);
    }

    const service: HandoverService = {
        async startFromIntegration(request) {
            const [{ created, session, language }, receivers] = await Promise.all([
                startHandover(triggerFromIntegration(request)),
                deps.threadControl.receivers(request.user.user_id)
            ]);
            const text = renderNotice(settings.notices, language, { key: created ? 'connecting' : 'alreadyConnected' });
            return {
                // Never true: on an end node `status: true` completes the conversation, which ends the handover.
                status: false,
                response: [textHsl(text)],
                conversation_details: { handover_id: session.id },
                user_details: {},
                // A Code node passing this answer on hands the thread to the bridge (Haptik's Salesforce guide).
                callback_ops: { tract_atc: { receiver: receivers.self } }
            };
        },

        async onTractMessage(payload, eventId) {
            const inbound = { source: TRACT_MESSAGE_SOURCE, eventId };
            const sender = (payload.sender ?? '').trim().toLowerCase();
            const session = USER_SENDERS.has(sender)
                ? await activeFor(payload.user_id, payload.conversation_number)
                : undefined;
            if (session === undefined) {
                const { duplicate } = await db.transaction(async (tx) => {
                    const recorded = await recordInboundEvent(tx, { ...inbound, payload });
                    if (!recorded.duplicate)
                        await markInboundProcessed(tx, { ...inbound, error: 'no active handover' });
                    return recorded;
                });
                return duplicate ? 'duplicate' : 'ignored';
            }
            const rendering = renderUserMessage(payload.message_body);
            const ending = isEndKeyword(rendering.text, settings.endKeywords);
            let duplicate = false;
            await applyInput(session.id, ending ? { type: 'user_end', source: 'keyword' } : undefined, {
                before: async (tx, current) => {
                    // Handled in this same transaction, so stored as processed at once.
                    const recorded = await recordInboundEvent(tx, { ...inbound, payload, processed: true });
                    duplicate = recorded.duplicate;
                    if (duplicate) {
                        throw new BridgeError('bridge_handover_duplicate_message', 'message seen before');
                    }
                    await appendMessage(tx, {
                        conversationKey: current.conversationKey,
                        handoverId: current.id,
                        direction: 'in',
                        sender: 'user',
                        text: rendering.text,
                        hsl: payload.message_body,
                        externalId: payload.message_id
                    });
                    if (ending || rendering.text === '') return;
                    // Held until the agent joins where the chat API refuses messages before that (sent then).
                    if (
                        !chat.sendsBeforeAgentJoins &&
                        stateFromStored(current.state, current.stateReason) !== 'with_agent'
                    ) {
                        return;
                    }
                    await enqueueHandoverJob(tx, 'chat.send_message', {
                        orderingKey: chatOrderingKey(current.id),
                        idempotencyKey: `chat.msg:${current.id}:${payload.message_id}`,
                        payload: {
                            handoverId: current.id,
                            messageId: `haptik-${payload.message_id}`,
                            text: rendering.text
                        }
                    });
                }
            }).catch((error: unknown) => {
                if (isBridgeError(error, 'bridge_handover_duplicate_message')) return { applied: false };
                throw error;
            });
            return duplicate ? 'duplicate' : 'accepted';
        },

        async onTractEvent(payload, eventId) {
            // Without a conversation number, an event cannot be told from a later one of the same user: it is
            // stored under an id of its own (never a duplicate), and acting on it is idempotent by itself (a
            // second `incomplete` finds the handover active, a second `complete` finds none to end).
            const id = payload.conversation_number == null ? `${eventId}:${randomUUID()}` : eventId;
            const inbound = { source: TRACT_EVENT_SOURCE, eventId: id };
            // Stored as processed in the transaction that acts on it: a failure before the commit leaves no
            // trace, so Haptik's retry is handled, not answered `duplicate` (issue 16, defect 5).
            const record = async (tx: Queryable): Promise<boolean> =>
                (await recordInboundEvent(tx, { ...inbound, payload, processed: true })).duplicate;
            const kind = `${payload.category}/${payload.subcategory}`;
            if (kind === 'collection_state/incomplete') {
                const started = await startHandover(
                    {
                        source: 'tract_event',
                        user: { user_id: payload.user_id },
                        conversationNo: payload.conversation_number ?? '0'
                    },
                    record
                );
                return started === undefined ? 'duplicate' : 'accepted';
            }
            if (kind !== 'collection_state/complete') return (await record(db)) ? 'duplicate' : 'ignored';

            // The conversation is complete: the handover (if any) ends, and its transcript is filed on every
            // channel (the webhook's `webhook_conversation_complete` is documented for the Bot API only).
            const session = await activeFor(payload.user_id, payload.conversation_number);
            let queued = false;
            const fileTranscript = async (tx: Queryable): Promise<void> => {
                if (deps.transcripts === undefined) return;
                const conversationNo =
                    payload.conversation_number ??
                    (session === undefined
                        ? undefined
                        : (await getConversation(tx, session.conversationKey))?.conversationNo);
                if (conversationNo == null) return;
                queued = await deps.transcripts.onTractComplete(
                    tx,
                    { userId: payload.user_id, conversationNo },
                    inbound
                );
            };
            if (session === undefined) {
                const duplicate = await db.transaction(async (tx) => {
                    if (await record(tx)) return true;
                    await fileTranscript(tx);
                    return false;
                });
                if (queued) deps.outbox.notify();
                return duplicate ? 'duplicate' : queued ? 'accepted' : 'ignored';
            }
            let duplicate = false;
            await applyInput(
                session.id,
                { type: 'user_end', source: 'bot_complete' },
                {
                    before: async (tx) => {
                        duplicate = await record(tx);
                        if (duplicate) throw new BridgeError('bridge_handover_duplicate_event', 'event seen before');
                        await fileTranscript(tx);
                    }
                }
            ).catch((error: unknown) => {
                if (isBridgeError(error, 'bridge_handover_duplicate_event')) return { applied: false };
                throw error;
            });
            return duplicate ? 'duplicate' : 'accepted';
        },

        async onChatEvent(envelope) {
            const { applied } = await applyInput(
                envelope.handoverId,
                { type: 'chat_event', event: envelope.event },
                {
                    ...(envelope.state === undefined
                        ? { cursor: envelope.cursor }
                        : { chatState: { data: envelope.state.data, cursor: envelope.cursor } }),
                    chatRecordId: envelope.chatRecordId ?? chatRecordIdOf(envelope.state),
                    fromStream: true,
                    ...(chat.sendsBeforeAgentJoins ? {} : { after: sendHeldMessages })
                }
            );
            if (!applied)
                logger.debug({ handoverId: envelope.handoverId, event: envelope.event.type }, 'chat event ignored');
        },

        handlers,

        async resumeStream(handoverId) {
            const session = await getHandoverSession(db, handoverId);
            if (session === undefined || isTerminal(stateFromStored(session.state, session.stateReason))) return;
            // Its chat.open job is still queued (or running elsewhere): that one starts the stream.
            if (!adapterStateOf(session).core.machine.chatOpened) return;
            await chat.resume(handoverId, chatStateOf(session));
        }
    };
    return {
        ...service,
        // One user's messages are matched to their handover and queued in arrival order: a lookup that takes
        // longer (a stale conversation number) must not let the user's next message overtake this one.
        onTractMessage: (payload, eventId) =>
            serial(`user:${payload.user_id}`, () => service.onTractMessage(payload, eventId))
    };
}
