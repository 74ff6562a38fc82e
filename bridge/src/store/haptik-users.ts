import type { Queryable } from './db';

/**
 * Haptik user names by user id (schema v4). Integration calls and webhooks carry `user_name`, TRACT hooks
 * only `user_id`; `get_chat_history` needs the name.
 */
export async function rememberUserName(
    q: Queryable,
    user: { businessId: string; userId: string; userName: string }
): Promise<void> {
    await q.query(
        `INSERT INTO haptik_users (business_id, user_id, user_name) VALUES ($1, $2, $3)
         ON CONFLICT (business_id, user_id) DO UPDATE SET user_name = EXCLUDED.user_name, updated_at = now()
         WHERE haptik_users.user_name IS DISTINCT FROM EXCLUDED.user_name`,
        [user.businessId, user.userId, user.userName]
    );
}

/**
 * Several names in one statement (the bridge coalesces the writes of concurrent integration calls). The user ids
 * must be distinct: one statement cannot update a row twice.
 */
export async function rememberUserNames(
    q: Queryable,
    businessId: string,
    users: ReadonlyArray<{ userId: string; userName: string }>
): Promise<void> {
    if (users.length === 0) return;
    await q.query(
        `INSERT INTO haptik_users (business_id, user_id, user_name)
         SELECT $1, u.user_id, u.user_name FROM unnest($2::text[], $3::text[]) AS u(user_id, user_name)
         ON CONFLICT (business_id, user_id) DO UPDATE SET user_name = EXCLUDED.user_name, updated_at = now()
         WHERE haptik_users.user_name IS DISTINCT FROM EXCLUDED.user_name`,
        [businessId, users.map((u) => u.userId), users.map((u) => u.userName)]
    );
}

export async function userNameOf(q: Queryable, businessId: string, userId: string): Promise<string | undefined> {
    const result = await q.query<{ user_name: string }>(
        'SELECT user_name FROM haptik_users WHERE business_id = $1 AND user_id = $2',
        [businessId, userId]
    );
    return result.rows[0]?.user_name;
}
