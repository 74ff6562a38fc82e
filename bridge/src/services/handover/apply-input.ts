import { isBridgeError } from '../../core/errors';
import type { ChatSessionState } from '../../core/handover/chat-port';
import { storedState, transition } from '../../core/handover/handover-state';
import type { HandoverEffect, HandoverInput, HandoverMachine } from '../../core/handover/handover-state';
import { lockHandoverSession } from '../../store/active-handovers';
import type { Queryable } from '../../store/db';
import { setHandoverCursor, updateHandoverSession } from '../../store/handover-sessions';
import type { HandoverSession } from '../../store/handover-sessions';
import type { DirectClaim } from '../../store/outbox';
import { enqueueCaseLink } from './case-link';
import type { HandoverContext } from './context';
import { applyEffects } from './effects';
import { adapterStateOf, HAPTIK_USER_KEY_PREFIX, machineOf } from './session-state';
import type { CoreState } from './session-state';

/**
 * The transaction of one input, with what lets its relay run without the outbox's claim path: jobs
 * enqueued with `claim` are inserted already claimed (where their key allows) and run in this process
 * right after the commit; `cursor` is the stream position this input stores, for a relay write to carry
 * in its own statement (`takeCursor` hands it out once).
 */
export interface InputTx extends Queryable {
    /** Claims for jobs of this handover's chat (only while this instance reads its stream). */
    readonly chatClaim: DirectClaim | undefined;
    /** Claims for jobs of the handover's Haptik user (the user's lock is held). */
    readonly userClaim: DirectClaim | undefined;
    takeCursor(): { handoverId: string; lastEventId: string | null } | undefined;
}

/** Work done in the input's transaction; `core` is the copy that is stored afterwards. */
export type BeforeInput = (tx: InputTx, session: HandoverSession, core: CoreState) => Promise<void>;
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
    /** `before` enqueues only through the input's claims (a relayed user message): no wake-up needed. */
    beforeClaimsOnly?: boolean;
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
        // One claim per transaction, shared by the two kinds of keys: dispatched together after the commit.
        const claim = ctx.outbox.directClaim?.();
        let quiet = false;
        const outcome = await db.transaction(async (dbTx): Promise<InputOutcome> => {
            const session = await lockHandoverSession(dbTx, handoverId, {
                ...(claim === undefined ? {} : { userLockPrefix: HAPTIK_USER_KEY_PREFIX })
            });
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
            let chatData = stored.chat;
            let cursor = session.lastEventId;
            if (options.chatState !== undefined && !(options.chatStateOnlyIfUnopened && machine.chatOpened)) {
                chatData = options.chatState.data;
                cursor = options.chatState.cursor;
            } else if (options.cursor !== undefined) {
                cursor = options.cursor;
            }
            let cursorTaken = false;
            const tx: InputTx = {
                query: (sql, params) => dbTx.query(sql, params),
                chatClaim: claim !== undefined && ctx.streams.holds(session) ? claim : undefined,
                userClaim: claim,
                takeCursor: () => {
                    if (cursorTaken || cursor === session.lastEventId) return undefined;
                    cursorTaken = true;
                    return { handoverId: session.id, lastEventId: cursor };
                }
            };
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
            const ranAfter = options.after !== undefined && applied && input !== undefined;
            if (ranAfter) await options.after!(tx, session, core, machine, next);

            const { state: _state, ...machineRest } = next;
            core.machine = machineRest;
            let salesforceSessionId = session.salesforceSessionId;
            if (options.chatRecordId !== undefined && options.chatRecordId !== salesforceSessionId) {
                salesforceSessionId = options.chatRecordId;
                await enqueueCaseLink(ctx, tx, session, core, options.chatRecordId);
            }
            const target = storedState(next.state);
            // Every job of this input went through the claims (relays only): the claim path need not look.
            quiet =
                effects.every((effect) => effect.kind === 'relay_to_user') &&
                !ranAfter &&
                (options.before === undefined || (options.beforeClaimsOnly === true && tx.chatClaim !== undefined)) &&
                salesforceSessionId === session.salesforceSessionId;
            const sameRow =
                effects.every((effect) => effect.kind === 'relay_to_user') &&
                target.state === session.state &&
                target.reason === session.stateReason &&
                chatData === stored.chat &&
                salesforceSessionId === session.salesforceSessionId &&
                JSON.stringify(core) === JSON.stringify(stored.core);
            // A relayed user message changes only other tables; an agent message only the stream position,
            // which its relay's statement stores (else one small UPDATE does): no rewrite of the session row.
            if (sameRow) {
                if (cursor === session.lastEventId) return { applied, session };
                if (tx.takeCursor() !== undefined) await setHandoverCursor(tx, session.id, cursor);
                return { applied, session: { ...session, lastEventId: cursor } };
            }
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
        if (claim === undefined || ctx.outbox.dispatch === undefined) ctx.outbox.notify();
        else {
            // The claimed jobs start here now, with the session as committed (their handlers need not read it).
            if (!quiet) claim.pending = true;
            ctx.outbox.dispatch(claim, outcome.session);
        }
        if (detach) {
            ctx.streams.forget(handoverId);
            chat.detach(handoverId);
        }
        return outcome;
    });
}
