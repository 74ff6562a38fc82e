import type { Migration } from './migration';

/**
 * Schema v2: a finished outbox job keeps what its handler returned (e.g. the Case id an upsert
 * produced), so the code that enqueued it can wait for the job and answer with that result.
 */
export const outboxResult: Migration = {
    version: 2,
    name: 'outbox-result',
    statements: [`ALTER TABLE outbox_jobs ADD COLUMN result jsonb`]
};
