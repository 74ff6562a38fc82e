import { isBridgeError } from '../../core/errors';
import type { ChatSessionState } from '../../core/handover/chat-port';
import { storedState, transition } from '../../core/handover/handover-state';
import type { HandoverEffect, HandoverInput, HandoverMachine } from '../../core/handover/handover-state';
import { lockHandoverSession } from '../../store/active-handovers';
import type { Queryable } from '../../store/db';
import { updateHandoverSession } from '../../store/handover-sessions';
import type { HandoverSession } from '../../store/handover-sessions';
import { enqueueCaseLink } from './case-link';
import type { HandoverContext } from './context';
import { applyEffects } from './effects';
import { adapterStateOf, machineOf } from './session-state';
import type { CoreState } from './session-state';

/** Work done in the input's transaction; `core` is the copy that is stored afterwards. */
export type BeforeInput = (tx: Queryable, session: HandoverSession, core: CoreState) => Promise<void>;
export type AfterInput = (
    tx: Queryable,
    session: HandoverSession,
    core: CoreState,
    from: HandoverMachine,
    to: HandoverMachine
) => Promise<void>;

export interface InputOptions {
    chatState?: ChatSessionState | undefined;
    /** A new stream position without new adapter data. */
    cursor?: string | null | undefined;
    /** Replace the adapter state even when events were handled first (open() result). */
    chatStateOnlyIfUnopened?: boolean;
    chatRecordId?: string | undefined;
    /** A chat event: only the instance holding the chat's stream may act on it. */
    fromStream?: boolean;
    /** After the transition's effects, when the input applied (same transaction). */
    after?: AfterInput;
    before?: BeforeInput;
}

export interface InputOutcome {
    applied: boolean;
    /** The stored session after the input, when the input changed it. */
    session?: HandoverSession;
}

/**
 * Runs one input against the locked session: transition, effects, new state, all in one
 * transaction. An illegal input changes nothing but what `options` stores (e.g. the stream cursor).
 * No input (undefined) runs only the hooks and stores what they and `options` change.
 */
export function applyInput(
    ctx: HandoverContext,
    handoverId: string,
    input: HandoverInput | undefined,
    options: InputOptions = {}
): Promise<InputOutcome> {
    const { db, chat, logger } = ctx;
    return ctx.serial(handoverId, async () => {
        let detach = false;
        const outcome = await db.transaction(async (tx): Promise<InputOutcome> => {
            const session = await lockHandoverSession(tx, handoverId);
            if (session === undefined) return { applied: false };
            if (options.fromStream === true && !ctx.streams.holds(session)) {
                // Another instance took this chat over (this one was paused or cut off): it acts, not us.
                detach = true;
                logger.warn({ handoverId }, 'chat event from a stream this instance no longer holds; stopped');
                return { applied: false };
            }
            const stored = adapterStateOf(session);
            const core: CoreState = structuredClone(stored.core);
            const machine = machineOf(session, core);
            let next: HandoverMachine = machine;
            let effects: HandoverEffect[] = [];
            let applied = input === undefined;
            if (input !== undefined) {
                try {
                    ({ machine: next, effects } = transition(machine, input, {
                        now: ctx.clock.now(),
                        waitNoticeIntervalMs: ctx.settings.notices.waitNoticeIntervalMs
                    }));
                    applied = true;
                } catch (error) {
                    if (!isBridgeError(error, 'bridge_handover_illegal_transition')) throw error;
                    logger.debug({ handoverId, code: error.code, ...error.details }, 'handover input ignored');
                }
            }
            if (options.before) await options.before(tx, session, core);
            detach = (await applyEffects(ctx, tx, session, core, effects)).detach;
            if (options.after && applied && input !== undefined) await options.after(tx, session, core, machine, next);

            const { state: _state, ...machineRest } = next;
            core.machine = machineRest;
            let chatData = stored.chat;
            let cursor = session.lastEventId;
            if (options.chatState !== undefined && !(options.chatStateOnlyIfUnopened && machine.chatOpened)) {
                chatData = options.chatState.data;
                cursor = options.chatState.cursor;
            } else if (options.cursor !== undefined) {
                cursor = options.cursor;
            }
            let salesforceSessionId = session.salesforceSessionId;
            if (options.chatRecordId !== undefined && options.chatRecordId !== salesforceSessionId) {
                salesforceSessionId = options.chatRecordId;
                await enqueueCaseLink(ctx, tx, session, core, options.chatRecordId);
            }
            const unchanged =
                effects.length === 0 &&
                next === machine &&
                chatData === stored.chat &&
                cursor === session.lastEventId &&
                salesforceSessionId === session.salesforceSessionId &&
                JSON.stringify(core) === JSON.stringify(stored.core);
            // A relayed user message changes only other tables: one statement less per message.
            if (unchanged) return { applied, session };
            const target = storedState(next.state);
            const updated = await updateHandoverSession(tx, session.id, session.state, {
                state: target.state,
                stateReason: target.reason,
                adapterState: { core, ...(chatData === undefined ? {} : { chat: chatData }) },
                lastEventId: cursor,
                agentName: next.agentName,
                salesforceSessionId
            });
            return { applied, ...(updated === undefined ? {} : { session: updated }) };
        });
        ctx.outbox.notify();
        if (detach) {
            ctx.streams.forget(handoverId);
            chat.detach(handoverId);
        }
        return outcome;
    });
}
