import { renderNotice } from '../../core/handover/notices';
import type { NoticeRequest } from '../../core/handover/notices';
import { textHsl } from '../../haptik/hsl';
import type { Queryable } from '../../store/db';
import type { HandoverSession } from '../../store/handover-sessions';
import { appendMessage } from '../../store/message-log';
import { enqueueOutbound } from '../outbound-jobs';
import type { HandoverContext } from './context';
import { haptikOrderingKey } from './session-state';
import type { CoreState } from './session-state';

/**
 * What the bridge itself tells the user during a handover: a notice in the user's language (logged, and
 * sent as a Haptik message numbered by `core.seq`), and Haptik's `allocated` event when an agent joins.
 * Both count `core.seq` up; the caller stores `core`.
 */
export async function enqueueNotice(
    ctx: HandoverContext,
    tx: Queryable,
    session: HandoverSession,
    core: CoreState,
    notice: NoticeRequest
): Promise<void> {
    core.seq += 1;
    const text = renderNotice(ctx.settings.notices, core.language, notice);
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

export async function enqueueAllocatedEvent(
    tx: Queryable,
    session: HandoverSession,
    core: CoreState,
    agentName: string
): Promise<void> {
    core.seq += 1;
    await enqueueOutbound(tx, 'haptik.event', {
        orderingKey: haptikOrderingKey(core.userId),
        idempotencyKey: `haptik-event:${session.id}:${core.seq}`,
        // Haptik's event table lists `allocated` under `message`; event metadata is a string.
        payload: {
            userId: core.userId,
            category: 'message',
            subcategory: 'allocated',
            metadata: JSON.stringify({ agent_name: agentName })
        }
    });
}
