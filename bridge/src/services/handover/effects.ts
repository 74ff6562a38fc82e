import type { HandoverEffect } from '../../core/handover/handover-state';
import type { HandoverSession } from '../../store/handover-sessions';
import type { InputTx } from './apply-input';
import type { HandoverContext } from './context';
import { enqueueEndChat, enqueueEventCase, enqueuePassToBot } from './end-handover';
import { enqueueAllocatedEvent, enqueueNotice } from './notices';
import { relayToUser } from './relay-to-user';
import type { CoreState } from './session-state';

/**
 * The state machine's effects, turned into log entries and outbox jobs inside the caller's transaction.
 * Says whether the chat's stream is to be let go (after the commit).
 */
export async function applyEffects(
    ctx: HandoverContext,
    tx: InputTx,
    session: HandoverSession,
    core: CoreState,
    effects: readonly HandoverEffect[]
): Promise<{ detach: boolean }> {
    let detach = false;
    for (const effect of effects) {
        switch (effect.kind) {
            case 'notice':
                await enqueueNotice(ctx, tx, session, core, effect.notice);
                break;
            case 'allocated':
                await enqueueAllocatedEvent(tx, session, core, effect.agentName);
                break;
            case 'relay_to_user':
                await relayToUser(tx, session, core, effect);
                break;
            case 'end_chat':
                await enqueueEndChat(tx, session);
                break;
            case 'pass_to_bot':
                await enqueuePassToBot(ctx, tx, session, core);
                break;
            case 'event_case':
                await enqueueEventCase(ctx, tx, session, core, effect.reason);
                break;
            case 'detach':
                detach = true;
                break;
        }
    }
    return { detach };
}
