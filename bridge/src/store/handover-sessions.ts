import { randomUUID } from 'node:crypto';
import type { Queryable } from './db';
import { asDate, asOptionalDate, jsonParam } from './sql';

export type HandoverAdapter = 'enhanced' | 'legacy' | 'byoc';

/**
 * States after which a handover is over. Any other state counts as active, and the database allows
 * at most one active handover per conversation (a partial unique index over exactly these two).
 */
export const TERMINAL_HANDOVER_STATES = ['ended', 'failed'] as const;

export interface HandoverSession {
    id: string;
    conversationKey: string;
    adapter: HandoverAdapter;
    state: string;
    stateReason: string | null;
    /** The chat adapter's own resume data (tokens are not stored here, only ids and cursors). */
    adapterState: Record<string, unknown>;
    lastEventId: string | null;
    agentName: string | null;
    salesforceSessionId: string | null;
    /** The bridge instance whose process reads this chat's event stream (stream-leases.ts). */
    streamOwner: string | null;
    /** Goes up each time the stream changes hands; 0 while the chat is being opened. */
    streamEpoch: number;
    createdAt: Date;
    updatedAt: Date;
    endedAt: Date | null;
}

interface HandoverRow {
    id: string;
    conversation_key: string;
    adapter: HandoverAdapter;
    state: string;
    state_reason: string | null;
    adapter_state: Record<string, unknown> | null;
    last_event_id: string | null;
    agent_name: string | null;
    salesforce_session_id: string | null;
    stream_owner: string | null;
    stream_epoch: string | number;
    created_at: unknown;
    updated_at: unknown;
    ended_at: unknown;
}

const ACTIVE = `state NOT IN ('ended', 'failed')`;

export function isTerminalHandoverState(state: string): boolean {
    return (TERMINAL_HANDOVER_STATES as readonly string[]).includes(state);
}

/**
 * Starts a handover unless the conversation already has an active one; then that one is returned
 * with `created: false` (no error, so the caller's transaction stays usable).
 */
export async function createHandoverSession(
    q: Queryable,
    input: {
        id?: string | undefined;
        conversationKey: string;
        adapter: HandoverAdapter;
        state: string;
        stateReason?: string | undefined;
        adapterState?: Record<string, unknown> | undefined;
    }
): Promise<{ created: boolean; session: HandoverSession }> {
    const inserted = await q.query<HandoverRow>(
        `INSERT INTO handover_sessions (id, conversation_key, adapter, state, state_reason, adapter_state)
         VALUES ($1, $2, $3, $4, $5, COALESCE($6::jsonb, '{}'::jsonb))
         ON CONFLICT (conversation_key) WHERE ${ACTIVE} DO NOTHING
         RETURNING *`,
        [
            input.id ?? randomUUID(),
            input.conversationKey,
            input.adapter,
            input.state,
            input.stateReason ?? null,
            jsonParam(input.adapterState)
        ]
    );
    const row = inserted.rows[0];
    if (row !== undefined) return { created: true, session: toSession(row) };
    const active = await getActiveHandover(q, input.conversationKey);
    if (active === undefined) {
        // Only reachable if the active one ended between the two statements; the caller may retry.
        throw new Error('handover insert conflicted but no active handover was found');
    }
    return { created: false, session: active };
}

export async function getActiveHandover(q: Queryable, conversationKey: string): Promise<HandoverSession | undefined> {
    const result = await q.query<HandoverRow>(
        `SELECT * FROM handover_sessions WHERE conversation_key = $1 AND ${ACTIVE}`,
        [conversationKey]
    );
    const row = result.rows[0];
    return row === undefined ? undefined : toSession(row);
}

export async function getHandoverSession(
    q: Queryable,
    id: string,
    options: { forUpdate?: boolean; lockKeyPrefix?: string } = {}
): Promise<HandoverSession | undefined> {
    // The advisory lock is taken in the same statement as the row lock: no round trip of its own.
    const advisory =
        options.lockKeyPrefix === undefined
            ? ''
            : `, pg_advisory_xact_lock(hashtext($2 || (adapter_state #>> '{core,userId}'))) AS user_locked`;
    const result = await q.query<HandoverRow>(
        `SELECT *${advisory} FROM handover_sessions WHERE id = $1${options.forUpdate === true ? ' FOR UPDATE' : ''}`,
        options.lockKeyPrefix === undefined ? [id] : [id, options.lockKeyPrefix]
    );
    const row = result.rows[0];
    return row === undefined ? undefined : toSession(row);
}

/** The active handover bound to a Salesforce chat (MessagingSession / LiveChatTranscript key). */
export async function findActiveHandoverBySalesforceSession(
    q: Queryable,
    salesforceSessionId: string
): Promise<HandoverSession | undefined> {
    const result = await q.query<HandoverRow>(
        `SELECT * FROM handover_sessions WHERE salesforce_session_id = $1 AND ${ACTIVE}
         ORDER BY created_at DESC LIMIT 1`,
        [salesforceSessionId]
    );
    const row = result.rows[0];
    return row === undefined ? undefined : toSession(row);
}

export interface HandoverChange {
    state?: string;
    stateReason?: string | null;
    adapterState?: Record<string, unknown>;
    lastEventId?: string | null;
    agentName?: string | null;
    salesforceSessionId?: string | null;
}

const CHANGE_COLUMNS: ReadonlyArray<[keyof HandoverChange, string, string]> = [
    ['state', 'state', '$'],
    ['stateReason', 'state_reason', '$'],
    ['adapterState', 'adapter_state', '$::jsonb'],
    ['lastEventId', 'last_event_id', '$'],
    ['agentName', 'agent_name', '$'],
    ['salesforceSessionId', 'salesforce_session_id', '$']
];

/**
 * Applies a change only if the session is still in `expectedState` (optimistic concurrency: two
 * events racing on one handover cannot both move it). Returns the updated session, or undefined when
 * the state had moved on (or the id is unknown); the caller re-reads and decides. Entering a terminal
 * state stamps `ended_at`.
 */
export async function updateHandoverSession(
    q: Queryable,
    id: string,
    expectedState: string,
    change: HandoverChange
): Promise<HandoverSession | undefined> {
    const params: unknown[] = [id, expectedState];
    const sets: string[] = ['updated_at = now()'];
    for (const [field, column, cast] of CHANGE_COLUMNS) {
        const value = change[field];
        if (value === undefined) continue;
        params.push(field === 'adapterState' ? jsonParam(value) : value);
        sets.push(`${column} = ${cast.replace('$', `$${params.length}`)}`);
    }
    if (change.state !== undefined && isTerminalHandoverState(change.state)) sets.push('ended_at = now()');
    const result = await q.query<HandoverRow>(
        `UPDATE handover_sessions SET ${sets.join(', ')} WHERE id = $1 AND state = $2 RETURNING *`,
        params
    );
    const row = result.rows[0];
    return row === undefined ? undefined : toSession(row);
}

/** Stores a new stream position and nothing else (an agent message's input changes no other column). */
export async function setHandoverCursor(q: Queryable, id: string, lastEventId: string | null): Promise<void> {
    await q.query('UPDATE handover_sessions SET last_event_id = $2, updated_at = now() WHERE id = $1', [
        id,
        lastEventId
    ]);
}

export async function listHandoversByConversation(q: Queryable, conversationKey: string): Promise<HandoverSession[]> {
    const result = await q.query<HandoverRow>(
        'SELECT * FROM handover_sessions WHERE conversation_key = $1 ORDER BY created_at, id',
        [conversationKey]
    );
    return result.rows.map(toSession);
}

function toSession(row: HandoverRow): HandoverSession {
    return {
        id: row.id,
        conversationKey: row.conversation_key,
        adapter: row.adapter,
        state: row.state,
        stateReason: row.state_reason,
        adapterState: row.adapter_state ?? {},
        lastEventId: row.last_event_id,
        agentName: row.agent_name,
        salesforceSessionId: row.salesforce_session_id,
        streamOwner: row.stream_owner,
        streamEpoch: Number(row.stream_epoch),
        createdAt: asDate(row.created_at),
        updatedAt: asDate(row.updated_at),
        endedAt: asOptionalDate(row.ended_at)
    };
}
