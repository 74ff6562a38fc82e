import type { Queryable } from './db';
import { getHandoverSession } from './handover-sessions';
import type { HandoverSession } from './handover-sessions';

/**
 * Reads over the active handovers that handover-sessions.ts does not need itself: all of them (resume
 * after a restart) and one user's (a TRACT message that names no conversation number).
 */
export async function listActiveHandoverIds(
    q: Queryable,
    options: { afterId?: string; limit: number }
): Promise<string[]> {
    const result = await q.query<{ id: string }>(
        `SELECT id FROM handover_sessions WHERE state NOT IN ('ended', 'failed') AND id > $1 ORDER BY id LIMIT $2`,
        [options.afterId ?? '', options.limit]
    );
    return result.rows.map((row) => row.id);
}

/** The user's newest active handover in this business (conversation keys are `<business>:<user>:<no>`). */
export async function findActiveHandoverForUser(
    q: Queryable,
    businessId: string,
    userId: string
): Promise<HandoverSession | undefined> {
    const result = await q.query<{ id: string }>(
        `SELECT h.id FROM handover_sessions h JOIN conversations c ON c.key = h.conversation_key
         WHERE c.business_id = $1 AND c.user_id = $2 AND h.state NOT IN ('ended', 'failed')
         ORDER BY h.created_at DESC LIMIT 1`,
        [businessId, userId]
    );
    const id = result.rows[0]?.id;
    return id === undefined ? undefined : getHandoverSession(q, id);
}

/** Locks the session row for the rest of the transaction (several bridge processes may share a database). */
export function lockHandoverSession(q: Queryable, id: string): Promise<HandoverSession | undefined> {
    return getHandoverSession(q, id, { forUpdate: true });
}
