import { asBridgeError } from '../../core/errors';
import { buildBotContext } from '../../core/handover/bot-context';
import type { BotContextV1, CrmMatch } from '../../core/handover/bot-context';
import type { ChatSessionState } from '../../core/handover/chat-port';
import { isTerminal, stateFromStored } from '../../core/handover/handover-state';
import { routingAttributesOf } from '../../core/handover/handover-settings';
import { cutText } from '../../core/text';
import { getConversation, upsertConversation } from '../../store/conversations';
import type { Queryable } from '../../store/db';
import { getHandoverSession } from '../../store/handover-sessions';
import type { HandoverSession } from '../../store/handover-sessions';
import { isPermanentFailure } from '../../store/outbox-worker';
import { parseHandoverJob } from '../handover-jobs';
import { enqueueOutbound } from '../outbound-jobs';
import { applyInput } from './apply-input';
import { briefingMessageId, briefingOf } from './briefing';
import { crmMatch, recentMessages } from './bot-context-sources';
import type { HandoverContext } from './context';
import { adapterStateOf, chatRecordIdOf, chatStateOf, isLive } from './session-state';
import type { CoreState } from './session-state';

/**
 * Outbox job `chat.open`: gathers the bot context, stores it with the conversation and queues the
 * conversation Case, then asks the chat adapter for a chat (continuing what a cut-off earlier run saved)
 * and, where the chat API takes messages before an agent joins, sends the agent's briefing. Each step is
 * stored before the next, so a retried job picks up where the last run stopped.
 */
export async function openChat(ctx: HandoverContext, raw: unknown): Promise<unknown> {
    const { handoverId, trigger } = parseHandoverJob('chat.open', raw);
    const { db, chat, settings } = ctx;
    let session = await getHandoverSession(db, handoverId);
    if (!isLive(session)) return { skipped: 'not active' };
    let core = adapterStateOf(session).core;
    if (!core.machine.chatOpened) {
        const crm = await crmMatch(ctx, trigger);
        const messages = await recentMessages(ctx, trigger, session.conversationKey);
        const context = buildBotContext({
            trigger,
            channel: core.channel,
            crm,
            messages,
            maxMessages: settings.recentMessages,
            defaultLanguage: settings.notices.defaultLanguage,
            defaultReason: settings.defaultReason,
            redact: ctx.redact
        });
        const conversationKeyOf = session.conversationKey;
        await applyInput(ctx, handoverId, undefined, {
            before: async (tx, current, coreNow) => {
                // This instance opens the chat, so it reads its stream (until it stops or dies).
                await ctx.streams.claimForOpen(tx, current.id);
                await upsertConversation(tx, {
                    businessId: ctx.businessId,
                    userId: coreNow.userId,
                    conversationNo: trigger.conversationNo,
                    context: context as unknown as Record<string, unknown>
                });
                if (coreNow.caseJobId !== undefined) return;
                coreNow.caseJobId = await enqueueConversationCase(ctx, tx, current, coreNow, context, crm);
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
                    await applyInput(ctx, handoverId, undefined, {
                        chatState: progress,
                        chatStateOnlyIfUnopened: true
                    });
                }
            });
        } catch (error) {
            if (!isPermanentFailure(error)) throw error;
            ctx.logger.warn(
                { handoverId, code: asBridgeError(error, 'bridge_handover_open_failed').code },
                'chat refused'
            );
            await applyInput(ctx, handoverId, { type: 'open_failed' });
            return { opened: false };
        }
        const after = await applyInput(
            ctx,
            handoverId,
            { type: 'chat_opened' },
            { chatState: state, chatStateOnlyIfUnopened: true, chatRecordId: chatRecordIdOf(state) }
        );
        if (after.session === undefined) return { opened: true, briefing: false };
        session = after.session;
        core = adapterStateOf(session).core;
        if (isTerminal(stateFromStored(session.state, session.stateReason))) return { opened: true };
    }
    // Where messages wait for the agent, the briefing goes when the agent joins (relay-to-agent.ts).
    if (core.briefingSent !== true && chat.sendsBeforeAgentJoins) {
        const briefing = await briefingOf(ctx, db, session);
        if (briefing !== undefined) {
            await chat.sendMessage(handoverId, chatStateOf(session), {
                messageId: briefingMessageId(handoverId),
                text: briefing
            });
        }
        await applyInput(ctx, handoverId, undefined, {
            before: (_tx, _s, coreNow) => {
                coreNow.briefingSent = true;
                return Promise.resolve();
            }
        });
    }
    return { opened: true };
}

/** The conversation's Case, upserted by its key with the bot context; returns the job's id (for the link). */
async function enqueueConversationCase(
    ctx: HandoverContext,
    tx: Queryable,
    session: HandoverSession,
    core: CoreState,
    context: BotContextV1,
    crm: CrmMatch | undefined
): Promise<string> {
    const job = await enqueueOutbound(tx, 'salesforce.upsert', {
        orderingKey: `case:conv:${session.conversationKey}`,
        idempotencyKey: `handover-case:${session.id}`,
        payload: {
            type: 'Case',
            externalIdField: 'Haptik_Conversation_Key__c',
            externalId: session.conversationKey,
            fields: {
                Subject: cutText(`Chat with ${core.visitorName} on ${core.channel}`, 255),
                Origin: ctx.settings.eventCase.origin,
                Haptik_User_Id__c: core.userId,
                Haptik_Channel__c: core.channel,
                Haptik_Bot_Context__c: JSON.stringify(context),
                ...(crm?.objectType === 'Contact' ? { ContactId: crm.id } : {})
            }
        }
    });
    return job.id;
}
