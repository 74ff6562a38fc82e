import { LRUCache } from 'lru-cache';
import { asBridgeError } from '../core/errors';
import type { HaptikClient } from '../haptik/haptik-client';
import type { Logger } from '../observability/logger';
import type { Db, Queryable } from '../store/db';
import { rememberUserName, rememberUserNames, userNameOf } from '../store/haptik-users';
import { isPermanentFailure } from '../store/outbox-worker';

/**
 * Which Haptik `user_name` belongs to a `user_id` (contract §3): remembered from integration calls and
 * webhooks, asked of TRACT's user API (`/tract/user/`) when the bridge has none, so a transcript can be
 * filed from a TRACT `complete` hook alone. A name already written is not written again by this process.
 */
export interface UserNames {
    /** Stores the name (inside the caller's transaction when given). */
    remember(userId: string, userName: string | null | undefined, q?: Queryable): Promise<void>;
    /** Stores the name; a failure is logged, never thrown (a lookup must not fail for it). */
    rememberQuietly(userId: string, userName: string | null | undefined): Promise<void>;
    /**
     * The user's name: stored, else from TRACT (and stored). Undefined when neither knows it; a transient
     * TRACT failure is thrown (the outbox retries the job that asked).
     */
    nameOf(userId: string): Promise<string | undefined>;
}

export function createUserNames(deps: {
    db: Db;
    haptik: Pick<HaptikClient, 'getUser'>;
    businessId: string;
    logger: Logger;
}): UserNames {
    const { db, businessId } = deps;
    const logger = deps.logger.child({ component: 'user-names' });
    const written = new LRUCache<string, string>({ max: 10_000 });

    /**
     * Names from integration calls, written together: while one statement is in flight the names that arrive wait
     * for the next, so under load a statement carries many (no timer: alone, a name is written at once).
     */
    let waiting = new Map<string, string>();
    let next: Promise<void> | undefined;
    let writing: Promise<void> | undefined;
    const writeWaiting = async (): Promise<void> => {
        const batch = waiting;
        waiting = new Map();
        next = undefined;
        const users = [...batch].map(([userId, userName]) => ({ userId, userName }));
        await rememberUserNames(db, businessId, users);
        for (const user of users) written.set(user.userId, user.userName);
    };
    const rememberCoalesced = (userId: string, userName: string | null | undefined): Promise<void> => {
        const name = (userName ?? '').trim();
        if (name === '' || written.get(userId) === name) return Promise.resolve();
        waiting.set(userId, name);
        next ??= (writing ?? Promise.resolve())
            .catch(() => undefined)
            .then(() => {
                writing = writeWaiting().finally(() => {
                    writing = undefined;
                });
                return writing;
            });
        return next;
    };

    async function remember(userId: string, userName: string | null | undefined, q: Queryable = db): Promise<void> {
        const name = (userName ?? '').trim();
        if (name === '' || written.get(userId) === name) return;
        await rememberUserName(q, { businessId, userId, userName: name });
        // Inside a transaction that may still roll back, so only remembered as written when on its own.
        if (q === db) written.set(userId, name);
    }

    return {
        remember,
        async rememberQuietly(userId, userName) {
            try {
                await rememberCoalesced(userId, userName);
            } catch (error) {
                logger.warn(
                    { code: asBridgeError(error, 'bridge_store_failed').code },
                    'could not store the user name'
                );
            }
        },
        async nameOf(userId) {
            const pending = waiting.get(userId);
            if (pending !== undefined) return pending;
            const stored = await userNameOf(db, businessId, userId);
            if (stored !== undefined) return stored;
            try {
                const user = await deps.haptik.getUser(userId);
                if (user.userName !== undefined) await remember(userId, user.userName);
                return user.userName;
            } catch (error) {
                if (!isPermanentFailure(error)) throw error;
                logger.warn(
                    { code: asBridgeError(error, 'bridge_haptik_rejected').code },
                    'TRACT does not know the user; no user name'
                );
                return undefined;
            }
        }
    };
}
