import { randomUUID } from 'node:crypto';
import { channelOf } from '../../core/case-templates';
import type { HandoverTrigger } from '../../core/handover/bot-context';
import { initialMachine } from '../../core/handover/handover-state';
import { renderNotice } from '../../core/handover/notices';
import { textHsl } from '../../haptik/hsl';
import type { HaptikIntegrationRequest, HaptikIntegrationResponse } from '../../haptik/payloads';
import { upsertConversation } from '../../store/conversations';
import type { Queryable } from '../../store/db';
import { createHandoverSession, updateHandoverSession } from '../../store/handover-sessions';
import type { HandoverSession } from '../../store/handover-sessions';
import { chatOrderingKey, enqueueHandoverJob } from '../handover-jobs';
import type { HandoverContext } from './context';
import { enqueueNotice } from './notices';
import type { CoreState } from './session-state';

/**
 * The handover route's answer: Haptik's integration response plus what Haptik's own Salesforce guide returns
 * from a Code node to move thread control (`callback_ops.tract_atc.receiver`: the bridge's receiver id).
 */
export type HandoverAnswer = HaptikIntegrationResponse & { callback_ops: { tract_atc: { receiver: string } } };

export interface StartedHandover {
    created: boolean;
    session: HandoverSession;
    language: string;
}

/** `POST /haptik/integrations/handover`: starts a handover (unless one is active) and answers at once. */
export async function startFromIntegration(
    ctx: HandoverContext,
    request: HaptikIntegrationRequest
): Promise<HandoverAnswer> {
    const [{ created, session, language }, receivers] = await Promise.all([
        startHandover(ctx, triggerFromIntegration(request)),
        ctx.threadControl.receivers(request.user.user_id)
    ]);
    const text = renderNotice(ctx.settings.notices, language, { key: created ? 'connecting' : 'alreadyConnected' });
    return {
        // Never true: on an end node `status: true` completes the conversation, which ends the handover.
        status: false,
        response: [textHsl(text)],
        conversation_details: { handover_id: session.id },
        user_details: {},
        // A Code node passing this answer on hands the thread to the bridge (Haptik's Salesforce guide).
        callback_ops: { tract_atc: { receiver: receivers.self } }
    };
}

/**
 * Starts a handover unless one is active: the session, its chat.open job and its no-agent timer, in one
 * transaction. `record` stores the triggering event in the same transaction and says whether it was seen
 * before: then nothing is started and undefined is returned.
 */
export async function startHandover(ctx: HandoverContext, trigger: HandoverTrigger): Promise<StartedHandover>;
export async function startHandover(
    ctx: HandoverContext,
    trigger: HandoverTrigger,
    record: (tx: Queryable) => Promise<boolean>
): Promise<StartedHandover | undefined>;
export async function startHandover(
    ctx: HandoverContext,
    trigger: HandoverTrigger,
    record?: (tx: Queryable) => Promise<boolean>
): Promise<StartedHandover | undefined> {
    const { settings } = ctx;
    const userId = trigger.user.user_id;
    const language = (trigger.user.language_code ?? '').trim() || settings.notices.defaultLanguage;
    const channel = channelOf(trigger.user.device_platform);
    const visitorName =
        (trigger.user.full_name ?? '').trim() || (trigger.user.user_name ?? '').trim() || `Haptik user ${userId}`;
    const result = await ctx.db.transaction(async (tx) => {
        if (record !== undefined && (await record(tx))) return undefined;
        const conversation = await upsertConversation(tx, {
            businessId: ctx.businessId,
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
            adapter: ctx.chat.kind,
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
            runAt: new Date(ctx.clock.now().getTime() + settings.noAgentTimeoutMs)
        });
        if (trigger.source === 'tract_event') {
            // The integration route answers with this text itself; a TRACT trigger has no answer.
            await enqueueNotice(ctx, tx, started.session, core, { key: 'connecting' });
            await updateHandoverSession(tx, id, 'requested', { adapterState: { core } });
        }
        return { ...started, language };
    });
    if (result === undefined) return undefined;
    ctx.outbox.notify();
    ctx.logger.info(
        { handoverId: result.session.id, created: result.created, source: trigger.source },
        result.created ? 'handover requested' : 'handover already active'
    );
    return result;
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
