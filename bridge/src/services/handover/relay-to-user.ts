import type { HandoverEffect } from '../../core/handover/handover-state';
import { textHsl } from '../../haptik/hsl';
import type { Queryable } from '../../store/db';
import type { HandoverSession } from '../../store/handover-sessions';
import { appendMessage } from '../../store/message-log';
import { enqueueOutbound } from '../outbound-jobs';
import { haptikOrderingKey } from './session-state';
import type { CoreState } from './session-state';

export type RelayToUser = Extract<HandoverEffect, { kind: 'relay_to_user' }>;

/**
 * Agent → user: the agent's message (a chat event the state machine turned into `relay_to_user`) is logged
 * under its chat entry id and queued as a Haptik message, in order per Haptik user. Runs in the
 * transaction of the chat event; a replayed entry (stream resumed from an older cursor) finds its id in
 * the log and is not sent again.
 */
export async function relayToUser(
    tx: Queryable,
    session: HandoverSession,
    core: CoreState,
    message: RelayToUser
): Promise<void> {
    const logged = await appendMessage(tx, {
        conversationKey: session.conversationKey,
        handoverId: session.id,
        direction: 'out',
        sender: 'agent',
        text: message.text,
        externalId: message.messageId
    });
    if (logged.duplicate) return;
    await enqueueOutbound(tx, 'haptik.message', {
        orderingKey: haptikOrderingKey(core.userId),
        idempotencyKey: `haptik-msg:agent:${session.id}:${message.messageId}`,
        payload: {
            userId: core.userId,
            hsl: textHsl(message.text),
            metadata: {
                message_id: message.messageId,
                ...(message.agentName === undefined ? {} : { agent_name: message.agentName })
            }
        }
    });
}
