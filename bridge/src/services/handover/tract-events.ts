import { randomUUID } from 'node:crypto';
import { BridgeError, isBridgeError } from '../../core/errors';
import type { TractEventPayload } from '../../haptik/payloads';
import { getConversation } from '../../store/conversations';
import type { Queryable } from '../../store/db';
import { recordInboundEvent } from '../../store/inbox';
import { applyInput } from './apply-input';
import type { HandoverContext, TractOutcome } from './context';
import { startHandover } from './open-handover';
import { activeHandoverOf } from './session-state';

const TRACT_EVENT_SOURCE = 'haptik.tract.event';

/**
 * TRACT events: `collection_state`/`incomplete` starts a handover, `collection_state`/`complete` ends the
 * user's handover (if any) and files the conversation's transcript Case; any other event is recorded only.
 */
export async function onTractEvent(
    ctx: HandoverContext,
    payload: TractEventPayload,
    eventId: string
): Promise<TractOutcome> {
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
            ctx,
            {
                source: 'tract_event',
                user: { user_id: payload.user_id },
                conversationNo: payload.conversation_number ?? '0'
            },
            record
        );
        return started === undefined ? 'duplicate' : 'accepted';
    }
    if (kind !== 'collection_state/complete') return (await record(ctx.db)) ? 'duplicate' : 'ignored';

    // The conversation is complete: the handover (if any) ends, and its transcript is filed on every
    // channel (the webhook's `webhook_conversation_complete` is documented for the Bot API only).
    const session = await activeHandoverOf(ctx, payload.user_id, payload.conversation_number);
    let queued = false;
    const fileTranscript = async (tx: Queryable): Promise<void> => {
        if (ctx.transcripts === undefined) return;
        const conversationNo =
            payload.conversation_number ??
            (session === undefined ? undefined : (await getConversation(tx, session.conversationKey))?.conversationNo);
        if (conversationNo == null) return;
        queued = await ctx.transcripts.onTractComplete(tx, { userId: payload.user_id, conversationNo }, inbound);
    };
    if (session === undefined) {
        const duplicate = await ctx.db.transaction(async (tx) => {
            if (await record(tx)) return true;
            await fileTranscript(tx);
            return false;
        });
        if (queued) ctx.outbox.notify();
        return duplicate ? 'duplicate' : queued ? 'accepted' : 'ignored';
    }
    let duplicate = false;
    await applyInput(
        ctx,
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
}
