import type { HandoverEffect } from '../../core/handover/handover-state';
import { textHsl } from '../../haptik/hsl';
import type { HandoverSession } from '../../store/handover-sessions';
import { recordRelayedMessage } from '../../store/relayed-messages';
import type { InputTx } from './apply-input';
import { haptikOrderingKey } from './session-state';
import type { CoreState } from './session-state';

export type RelayToUser = Extract<HandoverEffect, { kind: 'relay_to_user' }>;

/**
 * Agent → user: the agent's message (a chat event the state machine turned into `relay_to_user`) is logged
 * under its chat entry id and queued as a Haptik message, in order per Haptik user. Runs in the
 * transaction of the chat event; a replayed entry (stream resumed from an older cursor) finds its id in
 * the log and is not sent again. One statement writes the log entry, the job (claimed at once, and so
 * sent right after the commit, when no earlier job of the user is open) and the stream's new position.
 */
export async function relayToUser(
    tx: InputTx,
    session: HandoverSession,
    core: CoreState,
    message: RelayToUser
): Promise<void> {
    await recordRelayedMessage(tx, {
        message: {
            conversationKey: session.conversationKey,
            handoverId: session.id,
            direction: 'out',
            sender: 'agent',
            text: message.text,
            externalId: message.messageId
        },
        job: {
            kind: 'haptik.message',
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
        },
        claim: tx.userClaim,
        cursor: tx.takeCursor()
    });
}
