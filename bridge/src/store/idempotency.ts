import type { Queryable } from './db';
import { jsonParam } from './sql';

/**
 * Results remembered per (scope, key), e.g. the Case created for an integration call, so a retried
 * request gets the first answer instead of doing the work again.
 */
export async function getIdempotentResult<T>(
    q: Queryable,
    scope: string,
    key: string
): Promise<{ found: true; result: T } | { found: false }> {
    const existing = await q.query<{ result: T }>('SELECT result FROM idempotency_keys WHERE scope = $1 AND key = $2', [
        scope,
        key
    ]);
    const row = existing.rows[0];
    return row === undefined ? { found: false } : { found: true, result: row.result };
}

/** Stores a result unless one is already there; returns the result that is now stored (first writer wins). */
export async function putIdempotentResult<T>(q: Queryable, scope: string, key: string, result: T): Promise<T> {
    await q.query(
        `INSERT INTO idempotency_keys (scope, key, result) VALUES ($1, $2, $3::jsonb)
         ON CONFLICT (scope, key) DO NOTHING`,
        [scope, key, jsonParam(result ?? null)]
    );
    const stored = await getIdempotentResult<T>(q, scope, key);
    return stored.found ? stored.result : result;
}

/**
 * Returns the remembered result for (scope, key), or computes, stores and returns it. Run it in a
 * transaction to make compute run at most once across processes: it takes a transaction-scoped
 * advisory lock on the key, so a concurrent caller waits and then replays. Outside a transaction the
 * lock is released at once and two racing callers may both compute (the first stored result wins).
 * The result must be JSON-serialisable.
 */
export async function rememberOnce<T>(
    q: Queryable,
    scope: string,
    key: string,
    compute: () => Promise<T>
): Promise<{ result: T; replayed: boolean }> {
    await q.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`idempotency:${scope}:${key}`]);
    const existing = await getIdempotentResult<T>(q, scope, key);
    if (existing.found) return { result: existing.result, replayed: true };
    const computed = await compute();
    return { result: await putIdempotentResult(q, scope, key, computed), replayed: false };
}
