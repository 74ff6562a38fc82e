/**
 * Reads over the active handovers that handover-sessions.ts does not need itself: one user's (a TRACT
 * message that names no conversation number), and the row lock. Taking open chats over after a restart
 * or a crash is stream-leases.ts.
 */
import type { Queryable } from './db';
import { getHandoverSession } from './handover-sessions';
import type { HandoverSession } from './handover-sessions';

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

/**
 * Locks the session row for the rest of the transaction (several bridge processes may share a database).
 * With `userLockPrefix`, also takes a transaction advisory lock on `<prefix><the session's Haptik user id>`,
 * in the same statement: it serialises the transactions of all of that user's handovers, which lets jobs
 * ordered per Haptik user be enqueued already claimed (outbox.ts DirectClaim).
 */
export function lockHandoverSession(
    q: Queryable,
    id: string,
    options: { userLockPrefix?: string | undefined } = {}
): Promise<HandoverSession | undefined> {
    return getHandoverSession(q, id, {
        forUpdate: true,
        ...(options.userLockPrefix === undefined ? {} : { lockKeyPrefix: options.userLockPrefix })
    });
}
