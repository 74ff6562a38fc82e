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
    /**
     * Stores the name soon, without waiting (integration calls answer first): written within NAME_WRITE_WINDOW_MS
     * together with the others that arrived meanwhile; a failure is logged, never thrown.
     */
    rememberQuietly(userId: string, userName: string | null | undefined): void;
    /** Writes the names rememberQuietly still holds (at shutdown, and for tests). */
    flush(): Promise<void>;
    /**
     * The user's name: stored, else from TRACT (and stored). Undefined when neither knows it; a transient
     * TRACT failure is thrown (the outbox retries the job that asked).
     */
    nameOf(userId: string): Promise<string | undefined>;
}

/** How long a name from an integration call may wait to be written with others. */
export const NAME_WRITE_WINDOW_MS = 50;

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
     * Names from integration calls, written behind the answer: they wait up to NAME_WRITE_WINDOW_MS and go in one
     * statement with the names that arrived meanwhile (while a statement is in flight, the next batch waits for
     * it). So a lookup answers without a database write, and at 500 lookups/s the bridge writes about 20 statements
     * a second instead of 500. Until written, this process answers nameOf from memory; a name lost to a crash in
     * that window is asked of TRACT's user API when a transcript needs it.
     */
    let waiting = new Map<string, string>();
    let timer: NodeJS.Timeout | undefined;
    let writing: Promise<void> = Promise.resolve();
    const writeWaiting = async (): Promise<void> => {
        const batch = waiting;
        waiting = new Map();
        const users = [...batch].map(([userId, userName]) => ({ userId, userName }));
        try {
            await rememberUserNames(db, businessId, users);
            for (const user of users) written.set(user.userId, user.userName);
        } catch (error) {
            logger.warn(
                { code: asBridgeError(error, 'bridge_store_failed').code, users: users.length },
                'could not store user names'
            );
        }
    };
    const rememberBehind = (userId: string, userName: string | null | undefined): void => {
        const name = (userName ?? '').trim();
        if (name === '' || written.get(userId) === name || waiting.get(userId) === name) return;
        waiting.set(userId, name);
        timer ??= setTimeout(() => {
            timer = undefined;
            writing = writing.then(writeWaiting);
        }, NAME_WRITE_WINDOW_MS);
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
        rememberQuietly(userId, userName) {
            rememberBehind(userId, userName);
        },
        async flush() {
            if (timer !== undefined) {
                clearTimeout(timer);
                timer = undefined;
                writing = writing.then(writeWaiting);
            }
            await writing;
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
