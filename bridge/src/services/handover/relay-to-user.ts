import type { HandoverEffect } from '../../core/handover/handover-state';
import { attachmentLine } from '../../core/transcript';
import { textHsl } from '../../haptik/hsl';
import type { HandoverSession } from '../../store/handover-sessions';
import { recordRelayedMessage } from '../../store/relayed-messages';
import type { InputTx } from './apply-input';
import { haptikOrderingKey } from './session-state';
import type { CoreState } from './session-state';
import { enqueueAgentFiles, recordAgentFiles } from './relay-files';

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
    const files = message.attachments ?? [];
    const logText = [message.text, ...files.map((file) => attachmentLine('agent', file.name, file.contentType))]
        .filter((line) => line !== '')
        .join('\n');
    const { duplicate } = await recordRelayedMessage(tx, {
        message: {
            conversationKey: session.conversationKey,
            handoverId: session.id,
            direction: 'out',
            sender: 'agent',
            text: logText,
            ...(files.length === 0
                ? {}
                : { hsl: { attachments: files.map(({ id, name, contentType }) => ({ id, name, contentType })) } }),
            externalId: message.messageId
        },
        // An attachment message's caption (if any) goes first, then its files (relay-files.ts).
        job:
            message.text === '' && files.length > 0
                ? undefined
                : {
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
    if (!duplicate && files.length > 0) {
        await recordAgentFiles(tx, session, message.messageId, files);
        await enqueueAgentFiles(
            tx,
            session,
            core,
            { messageId: message.messageId, agentName: message.agentName, attachments: files },
            tx.userClaim
        );
    }
}
