/**
 * A sliding-window limiter that queues instead of failing: at most `limit` acquisitions in any
 * `windowMs`, served first come first served. Salesforce's Enhanced Chat limits are per window
 * (200 access tokens per minute per org, 22 inbound messages per minute per conversation), so
 * callers wait for a free slot rather than getting a 429 and an error for the user.
 */
export interface WindowLimiter {
    /** Resolves when the caller may go; rejects only if `signal` aborts while waiting. */
    acquire(signal?: AbortSignal): Promise<void>;
    /**
     * Takes a slot at once if one is free (0), else answers how many ms until one frees, taking nothing:
     * for a caller that should come back later rather than wait (an outbox job holding a worker slot).
     * Do not mix with acquire() on one limiter: it does not queue behind waiting acquirers.
     */
    tryAcquire(): number;
    /** Acquisitions still inside the window (for tests and metrics). */
    readonly inWindow: number;
}

export function createWindowLimiter(limit: number, windowMs: number, now: () => number = Date.now): WindowLimiter {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
    const times: number[] = [];
    let tail: Promise<void> = Promise.resolve();

    const prune = (at: number): void => {
        while (times.length > 0 && (times[0] ?? 0) <= at - windowMs) times.shift();
    };

    const take = async (signal?: AbortSignal): Promise<void> => {
        for (;;) {
            signal?.throwIfAborted();
            const at = now();
            prune(at);
            if (times.length < limit) {
                times.push(at);
                return;
            }
            const waitMs = Math.max(1, (times[0] ?? at) + windowMs - at);
            await new Promise<void>((resolve, reject) => {
                const timer = setTimeout(() => {
                    signal?.removeEventListener('abort', onAbort);
                    resolve();
                }, waitMs);
                const onAbort = (): void => {
                    clearTimeout(timer);
                    reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
                };
                signal?.addEventListener('abort', onAbort, { once: true });
            });
        }
    };

    return {
        acquire(signal) {
            const turn = tail.then(() => take(signal));
            // The queue goes on even when one waiter gave up.
            tail = turn.catch(() => undefined);
            return turn;
        },
        tryAcquire() {
            const at = now();
            prune(at);
            if (times.length < limit) {
                times.push(at);
                return 0;
            }
            return Math.max(1, (times[0] ?? at) + windowMs - at);
        },
        get inWindow() {
            prune(now());
            return times.length;
        }
    };
}
