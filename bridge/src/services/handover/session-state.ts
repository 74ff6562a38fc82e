import { BridgeError } from '../../core/errors';
import type { ChatSessionState } from '../../core/handover/chat-port';
import { isTerminal, stateFromStored } from '../../core/handover/handover-state';
import type { HandoverMachine } from '../../core/handover/handover-state';
import { findActiveHandoverForUser } from '../../store/active-handovers';
import { conversationKey } from '../../store/conversations';
import { getActiveHandover } from '../../store/handover-sessions';
import type { HandoverSession } from '../../store/handover-sessions';
import type { HandoverContext } from './context';

/** What the service keeps next to the adapter's own state in `adapter_state`. */
export interface CoreState {
    machine: Omit<HandoverMachine, 'state'>;
    userId: string;
    language: string;
    /** Name shown to the agent and in the event Case. */
    visitorName: string;
    channel: string;
    /** The conversation Case's upsert job, for the chat record's CaseId. */
    caseJobId?: string;
    briefingSent?: boolean;
    /** Numbers the notices of this handover (their Haptik message ids). */
    seq: number;
}

export interface StoredAdapterState {
    core: CoreState;
    chat?: Record<string, unknown>;
}

export function adapterStateOf(session: HandoverSession): StoredAdapterState {
    const raw = session.adapterState as Partial<StoredAdapterState>;
    if (raw.core === undefined) {
        throw new BridgeError('bridge_handover_state_unreadable', 'The handover has no core state', {
            details: { handoverId: session.id }
        });
    }
    return { core: raw.core, ...(raw.chat === undefined ? {} : { chat: raw.chat }) };
}

export function machineOf(session: HandoverSession, core: CoreState): HandoverMachine {
    return { ...core.machine, state: stateFromStored(session.state, session.stateReason) };
}

export function chatStateOf(session: HandoverSession): ChatSessionState {
    return { data: adapterStateOf(session).chat ?? {}, cursor: session.lastEventId };
}

/** Whether the handover exists and has not ended. */
export function isLive(session: HandoverSession | undefined): session is HandoverSession {
    return session !== undefined && !isTerminal(stateFromStored(session.state, session.stateReason));
}

/** Adapters that keep the chat record id in their state (Enhanced Chat: `messagingSessionId`). */
export function chatRecordIdOf(state: ChatSessionState | undefined): string | undefined {
    const value = state?.data['messagingSessionId'] ?? state?.data['chatRecordId'];
    return typeof value === 'string' && value !== '' ? value : undefined;
}

export const HAPTIK_USER_KEY_PREFIX = 'haptik:user:';

/** Haptik calls of one user go out in order (messages, events, thread control). */
export function haptikOrderingKey(userId: string): string {
    return `${HAPTIK_USER_KEY_PREFIX}${userId}`;
}

/** The user's active handover: of the named conversation if it has one, else of any conversation. */
export async function activeHandoverOf(
    ctx: HandoverContext,
    userId: string,
    conversationNo: string | null | undefined
): Promise<HandoverSession | undefined> {
    if (conversationNo !== null && conversationNo !== undefined) {
        const found = await getActiveHandover(ctx.db, conversationKey(ctx.businessId, userId, conversationNo));
        if (found !== undefined) return found;
    }
    return findActiveHandoverForUser(ctx.db, ctx.businessId, userId);
}
