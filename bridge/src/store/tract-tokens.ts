import type { Queryable } from './db';
import { asOptionalDate, timeParam } from './sql';

/**
 * The shared TRACT token (schema v4): read it, take the short lease that lets one instance issue the
 * next one, store what it issued, and mark a token Haptik refused so every instance renews it.
 */
export interface StoredTractToken {
    token: string | null;
    expiresAt: Date | null;
    refreshAt: Date | null;
}

export interface TractTokenStore {
    read(key: string): Promise<StoredTractToken | undefined>;
    /**
     * True when this owner now holds the issue lease: nobody held it (or it ran out) and the stored token is
     * due at `now` (none, past its renewal time, or refused). A token another instance just stored refuses the
     * lease, so it is not issued twice.
     */
    tryLease(key: string, owner: string, leaseMs: number, now: Date): Promise<boolean>;
    /** Stores a new token and gives the lease back. */
    save(key: string, owner: string, token: { token: string; expiresAt: Date; refreshAt: Date }): Promise<void>;
    /** Gives the lease back without a token (the issue failed). */
    release(key: string, owner: string): Promise<void>;
    /** The token was refused: renew it now, whoever asks next. */
    invalidate(key: string, token: string): Promise<void>;
}

interface Row {
    token: string | null;
    expires_at: unknown;
    refresh_at: unknown;
}

export function createDbTractTokenStore(q: Queryable): TractTokenStore {
    return {
        async read(key) {
            const result = await q.query<Row>('SELECT token, expires_at, refresh_at FROM tract_tokens WHERE key = $1', [
                key
            ]);
            const row = result.rows[0];
            return row === undefined
                ? undefined
                : {
                      token: row.token,
                      expiresAt: asOptionalDate(row.expires_at),
                      refreshAt: asOptionalDate(row.refresh_at)
                  };
        },
        async tryLease(key, owner, leaseMs, now) {
            await q.query('INSERT INTO tract_tokens (key) VALUES ($1) ON CONFLICT (key) DO NOTHING', [key]);
            // The database's clock judges the lease, so instances with skewed clocks agree on it.
            const result = await q.query(
                `UPDATE tract_tokens
                    SET lease_owner = $2, lease_until = now() + make_interval(secs => $3::double precision / 1000)
                  WHERE key = $1 AND (lease_until IS NULL OR lease_until < now() OR lease_owner = $2)
                    AND (token IS NULL OR refresh_at IS NULL OR refresh_at <= $4)`,
                [key, owner, leaseMs, timeParam(now)]
            );
            return result.affectedRows === 1;
        },
        async save(key, owner, token) {
            await q.query(
                `UPDATE tract_tokens
                    SET token = $3, expires_at = $4, refresh_at = $5, issued_at = now(),
                        lease_owner = NULL, lease_until = NULL
                  WHERE key = $1 AND (lease_owner = $2 OR lease_owner IS NULL)`,
                [key, owner, token.token, timeParam(token.expiresAt), timeParam(token.refreshAt)]
            );
        },
        async release(key, owner) {
            await q.query(
                'UPDATE tract_tokens SET lease_owner = NULL, lease_until = NULL WHERE key = $1 AND lease_owner = $2',
                [key, owner]
            );
        },
        async invalidate(key, token) {
            // Due whatever an instance's clock says.
            await q.query(`UPDATE tract_tokens SET refresh_at = 'epoch' WHERE key = $1 AND token = $2`, [key, token]);
        }
    };
}

/** One process and no database (the operator tools): the same contract, in memory. */
export function createMemoryTractTokenStore(now: () => Date = () => new Date()): TractTokenStore {
    const rows = new Map<string, StoredTractToken & { leaseOwner?: string; leaseUntil?: number }>();
    return {
        read(key) {
            const row = rows.get(key);
            return Promise.resolve(
                row === undefined ? undefined : { token: row.token, expiresAt: row.expiresAt, refreshAt: row.refreshAt }
            );
        },
        tryLease(key, owner, leaseMs, at) {
            const row = rows.get(key) ?? { token: null, expiresAt: null, refreshAt: null };
            const free = row.leaseUntil === undefined || row.leaseUntil < now().getTime() || row.leaseOwner === owner;
            const due = row.token === null || row.refreshAt === null || row.refreshAt <= at;
            if (free && due) rows.set(key, { ...row, leaseOwner: owner, leaseUntil: now().getTime() + leaseMs });
            return Promise.resolve(free && due);
        },
        save(key, _owner, token) {
            rows.set(key, { token: token.token, expiresAt: token.expiresAt, refreshAt: token.refreshAt });
            return Promise.resolve();
        },
        release(key, owner) {
            const row = rows.get(key);
            if (row?.leaseOwner === owner)
                rows.set(key, { token: row.token, expiresAt: row.expiresAt, refreshAt: row.refreshAt });
            return Promise.resolve();
        },
        invalidate(key, token) {
            const row = rows.get(key);
            if (row?.token === token) rows.set(key, { ...row, refreshAt: new Date(0) });
            return Promise.resolve();
        }
    };
}
