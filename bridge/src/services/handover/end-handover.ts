import { BOT_CONTEXT_MAX_CHARS, fitBotContext } from '../../core/handover/bot-context';
import type { BotContextV1 } from '../../core/handover/bot-context';
import type { HandoverEffect } from '../../core/handover/handover-state';
import { cutText, fillPlaceholders } from '../../core/text';
import { getConversation } from '../../store/conversations';
import type { Queryable } from '../../store/db';
import { getHandoverSession } from '../../store/handover-sessions';
import type { HandoverSession } from '../../store/handover-sessions';
import { chatOrderingKey, enqueueHandoverJob, parseHandoverJob } from '../handover-jobs';
import { enqueueOutbound } from '../outbound-jobs';
import type { HandoverContext } from './context';
import { chatStateOf, haptikOrderingKey } from './session-state';
import type { CoreState } from './session-state';

/**
 * How a handover ends, as the state machine's effects say: the Salesforce chat is ended (job `chat.end`),
 * the thread goes back to the bot (TRACT thread control `pass`), and a handover no agent took files an
 * event Case. Each is queued in the transaction of the input that ended it, under a key of its own, so
 * that it is made once.
 */
export async function enqueueEndChat(tx: Queryable, session: HandoverSession): Promise<void> {
    await enqueueHandoverJob(tx, 'chat.end', {
        orderingKey: chatOrderingKey(session.id),
        idempotencyKey: `chat.end:${session.id}`,
        payload: { handoverId: session.id }
    });
}

export async function enqueuePassToBot(
    ctx: HandoverContext,
    tx: Queryable,
    session: HandoverSession,
    core: CoreState
): Promise<void> {
    await enqueueOutbound(tx, 'haptik.thread_control', {
        orderingKey: haptikOrderingKey(core.userId),
        idempotencyKey: `haptik-pass:${session.id}`,
        payload: {
            userId: core.userId,
            requester: ctx.settings.threadControl.requester,
            receiver: ctx.settings.threadControl.receiver
        }
    });
}

export async function enqueueEventCase(
    ctx: HandoverContext,
    tx: Queryable,
    session: HandoverSession,
    core: CoreState,
    reason: Extract<HandoverEffect, { kind: 'event_case' }>['reason']
): Promise<void> {
    const { eventCase } = ctx.settings;
    const conversation = await getConversation(tx, session.conversationKey);
    const context = conversation?.context ?? {};
    const values = { name: core.visitorName, channel: core.channel, reason };
    const crm = (context as Partial<BotContextV1>).crm;
    const eventKey = `handover:${session.id}`;
    const fields: Record<string, unknown> = {
        Subject: cutText(fillPlaceholders(eventCase.subject, values), 255),
        Description: cutText(fillPlaceholders(eventCase.description, values), 32000),
        Origin: eventCase.origin,
        ...(eventCase.status === undefined ? {} : { Status: eventCase.status }),
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

/** Outbox job `chat.end`: ends the Salesforce chat (whatever state the handover is in by now). */
export async function endChat(ctx: HandoverContext, raw: unknown): Promise<unknown> {
    const p = parseHandoverJob('chat.end', raw);
    const session = await getHandoverSession(ctx.db, p.handoverId);
    if (session === undefined) return { skipped: 'unknown' };
    await ctx.chat.end(p.handoverId, chatStateOf(session));
    return { ended: true };
}

/** `Haptik_Bot_Context__c` of a stored context, fitted to the field (never STRING_TOO_LONG; left out if it cannot be). */
function botContextField(context: Record<string, unknown>): { Haptik_Bot_Context__c?: string } {
    const json = JSON.stringify(
        (context as Partial<BotContextV1>).version === 1 ? fitBotContext(context as unknown as BotContextV1) : context
    );
    return json.length <= BOT_CONTEXT_MAX_CHARS ? { Haptik_Bot_Context__c: json } : {};
}
