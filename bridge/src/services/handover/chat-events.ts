import type { ChatEventEnvelope } from '../../core/handover/chat-port';
import { getHandoverSession } from '../../store/handover-sessions';
import { applyInput } from './apply-input';
import type { HandoverContext } from './context';
import { sendHeldMessages } from './relay-to-agent';
import { adapterStateOf, chatRecordIdOf, chatStateOf, isLive } from './session-state';

/**
 * The chat adapter's sink: each event of a chat's stream is one input of its handover, stored with the
 * stream's cursor (agent messages become `relay_to_user` effects, relay-to-user.ts). Where the chat API
 * refuses messages before the agent joins, the join releases what the user wrote meanwhile.
 */
export async function onChatEvent(ctx: HandoverContext, envelope: ChatEventEnvelope): Promise<void> {
    const { applied } = await applyInput(
        ctx,
        envelope.handoverId,
        { type: 'chat_event', event: envelope.event },
        {
            ...(envelope.state === undefined
                ? { cursor: envelope.cursor }
                : { chatState: { data: envelope.state.data, cursor: envelope.cursor } }),
            chatRecordId: envelope.chatRecordId ?? chatRecordIdOf(envelope.state),
            fromStream: true,
            ...(ctx.chat.sendsBeforeAgentJoins ? {} : { after: (...args) => sendHeldMessages(ctx, ...args) })
        }
    );
    if (!applied)
        ctx.logger.debug({ handoverId: envelope.handoverId, event: envelope.event.type }, 'chat event ignored');
}

/** Starts reading the stream of an open chat this instance took over, from its stored cursor. */
export async function resumeStream(ctx: HandoverContext, handoverId: string): Promise<void> {
    const session = await getHandoverSession(ctx.db, handoverId);
    if (!isLive(session)) return;
    // Its chat.open job is still queued (or running elsewhere): that one starts the stream.
    if (!adapterStateOf(session).core.machine.chatOpened) return;
    await ctx.chat.resume(handoverId, chatStateOf(session));
}
