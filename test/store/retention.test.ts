/**
 * Retention (issue 16 defect 8): rows past their period go (they hold personal data and grow for ever);
 * what an active handover or an open job still reads stays, whatever its age, and so do dead jobs.
 */
import type { Db } from '../../bridge/src/store/db';
import { pruneExpired } from '../../bridge/src/store/retention';
import { databaseTargets } from '../support/databases';
import { eventually } from '../support/eventually';
import { startSandbox } from '../emulators/sandbox';
import { metricValue } from '../salesforce/helpers';

const DAY = 24 * 60 * 60 * 1000;
const NOW = new Date();
const OLD = new Date(NOW.getTime() - 40 * DAY).toISOString();
const RECENT = new Date(NOW.getTime() - 1 * DAY).toISOString();
const POLICY = { keepMs: 30 * DAY, doneJobsMs: 7 * DAY, instancesMs: DAY, batchSize: 2 };

describe.each(databaseTargets())('retention on $name', (target) => {
    let db: Db;

    beforeAll(async () => {
        db = await target.open();
    });
    afterAll(async () => {
        await db.close();
    });

    async function conversation(key: string, updatedAt: string): Promise<void> {
        await db.query(
            `INSERT INTO conversations (key, business_id, user_id, conversation_no, updated_at)
             VALUES ($1, '343', $1, '1', $2::timestamptz)`,
            [key, updatedAt]
        );
    }
    async function handover(id: string, key: string, state: string, at: string, caseJobId?: string): Promise<void> {
        await db.query(
            `INSERT INTO handover_sessions (id, conversation_key, adapter, state, adapter_state, updated_at, ended_at)
             VALUES ($1, $2, 'enhanced', $3, $4::jsonb, $5::timestamptz,
                     CASE WHEN $3 IN ('ended', 'failed') THEN $5::timestamptz END)`,
            [id, key, state, JSON.stringify({ core: caseJobId === undefined ? {} : { caseJobId } }), at]
        );
    }
    async function message(key: string, handoverId: string | null, at: string): Promise<void> {
        await db.query(
            `INSERT INTO message_log (conversation_key, handover_id, direction, sender, text, created_at)
             VALUES ($1, $2, 'in', 'user', 'my card is 4111…', $3::timestamptz)`,
            [key, handoverId, at]
        );
    }
    /** A file the handover's user sent (its row goes with the conversation's messages). */
    async function file(key: string, handoverId: string, at: string): Promise<void> {
        await db.query(
            `INSERT INTO handover_files (id, conversation_key, handover_id, message_id, position, sender, name,
                                         content_type, source_url, created_at)
             VALUES ($1, $2, $3, 'm1', 0, 'user', 'passport.jpg', 'image/jpeg', 'https://assets.example/p.jpg',
                     $4::timestamptz)`,
            [`user:${handoverId}:m1:0`, key, handoverId, at]
        );
    }
    async function job(
        state: string,
        finishedAt: string | null,
        extra: { kind?: string; orderingKey?: string; payload?: unknown } = {}
    ): Promise<string> {
        const { rows } = await db.query<{ id: string }>(
            `INSERT INTO outbox_jobs (kind, ordering_key, payload, state, finished_at)
             VALUES ($1, $2, $3::jsonb, $4, $5::timestamptz) RETURNING id`,
            [
                extra.kind ?? 'haptik.message',
                extra.orderingKey ?? 'k',
                JSON.stringify(extra.payload ?? {}),
                state,
                finishedAt
            ]
        );
        return String(rows[0]!.id);
    }
    async function ids(sql: string): Promise<string[]> {
        return (await db.query<{ id: string }>(sql)).rows.map((r) => String(r.id)).sort();
    }

    it('deletes what is past its period and keeps what an active handover, an open job or an operator needs', async () => {
        // Conversations: one long over, one with an active (old) handover, one a transcript job still builds.
        await conversation('343:gone:1', OLD);
        await handover('h-gone', '343:gone:1', 'ended', OLD);
        await message('343:gone:1', 'h-gone', OLD);
        await file('343:gone:1', 'h-gone', OLD);
        await conversation('343:live:1', OLD);
        const caseJob = await job('done', OLD, { kind: 'salesforce.upsert' });
        await handover('h-live', '343:live:1', 'with_agent', OLD, caseJob);
        await message('343:live:1', 'h-live', OLD);
        await file('343:live:1', 'h-live', OLD);
        await conversation('343:building:1', OLD);
        await message('343:building:1', null, OLD);
        await job('pending', null, {
            kind: 'transcript.build',
            orderingKey: 'conversation:343:building:1',
            payload: { inbound: { source: 'haptik.webhook', eventId: 'ev-waiting' } }
        });
        await conversation('343:recent:1', RECENT);
        await message('343:recent:1', null, RECENT);

        // Done jobs: old (gone), old but read by a pending link job (kept), recent (kept); dead ones stay.
        const oldDone = await job('done', OLD);
        const linked = await job('done', OLD, { kind: 'salesforce.upsert' });
        await job('pending', null, { kind: 'handover.link_case', payload: { caseJobId: linked } });
        const recentDone = await job('done', RECENT);
        const dead = await job('dead', OLD);

        await db.query(
            `INSERT INTO inbound_events (source, event_id, payload, received_at, processed_at) VALUES
               ('haptik.webhook', 'ev-old', '{"email":"asha@example.com"}', $1::timestamptz, $1::timestamptz),
               ('haptik.webhook', 'ev-waiting', '{}', $1::timestamptz, NULL),
               ('haptik.webhook', 'ev-recent', '{}', $2::timestamptz, $2::timestamptz)`,
            [OLD, RECENT]
        );
        await db.query(
            `INSERT INTO idempotency_keys (scope, key, result, created_at) VALUES
               ('case', 'old', '{}', $1::timestamptz), ('case', 'recent', '{}', $2::timestamptz)`,
            [OLD, RECENT]
        );
        await db.query(
            `INSERT INTO bridge_instances (id, expires_at) VALUES
               ('dead-long-ago', $1::timestamptz), ('alive', now() + interval '1 minute')`,
            [OLD]
        );

        // User names: one whose conversations are all gone (deleted), one still in a conversation, one recent.
        await db.query(
            `INSERT INTO haptik_users (business_id, user_id, user_name, updated_at) VALUES
               ('343', '343:gone:1', 'asha', $1::timestamptz), ('343', '343:live:1', 'ravi', $1::timestamptz),
               ('343', 'new-user', 'mira', $2::timestamptz)`,
            [OLD, RECENT]
        );

        const deleted = await pruneExpired(db, POLICY, NOW);

        expect(deleted).toEqual({
            outbox_jobs: 1,
            inbound_events: 1,
            message_log: 1,
            handover_files: 1,
            idempotency_keys: 1,
            handover_sessions: 1,
            conversations: 1,
            haptik_users: 1,
            bridge_instances: 1
        });
        expect(await ids(`SELECT user_id AS id FROM haptik_users`)).toEqual(['343:live:1', 'new-user']);
        expect(await ids(`SELECT key AS id FROM conversations`)).toEqual(
            ['343:building:1', '343:live:1', '343:recent:1'].sort()
        );
        expect(await ids(`SELECT id FROM handover_sessions`)).toEqual(['h-live']);
        expect(await ids(`SELECT handover_id AS id FROM handover_files`)).toEqual(['h-live']);
        expect(await ids(`SELECT conversation_key AS id FROM message_log`)).toEqual(
            ['343:building:1', '343:live:1', '343:recent:1'].sort()
        );
        const jobs = await ids(`SELECT id FROM outbox_jobs WHERE state IN ('done', 'dead')`);
        expect(jobs).toEqual(expect.arrayContaining([caseJob, linked, recentDone, dead]));
        expect(jobs).not.toContain(oldDone);
        expect(await ids(`SELECT event_id AS id FROM inbound_events`)).toEqual(['ev-recent', 'ev-waiting']);
        expect(await ids(`SELECT key AS id FROM idempotency_keys`)).toEqual(['recent']);
        expect(await ids(`SELECT id FROM bridge_instances`)).toEqual(['alive']);

        // A second run finds nothing more.
        const again = await pruneExpired(db, POLICY, NOW);
        expect(Object.values(again).every((n) => n === 0)).toBe(true);
    });
});

describe('retention in a running bridge', () => {
    it('runs at start and every interval as one outbox job per period, deletes, and counts what it deleted', async () => {
        const sandbox = await startSandbox({ retentionIntervalMs: 300, outbox: { pollIntervalMs: 50 } });
        try {
            const { db } = sandbox.bridge;
            await db.query(
                `INSERT INTO outbox_jobs (kind, ordering_key, payload, state, finished_at)
                 VALUES ('haptik.message', 'k', '{}', 'done', $1::timestamptz)`,
                [OLD]
            );
            await db.query(
                `INSERT INTO inbound_events (source, event_id, payload, received_at, processed_at)
                 VALUES ('haptik.webhook', 'ev-old', '{"email":"asha@example.com"}', $1::timestamptz, $1::timestamptz)`,
                [OLD]
            );
            await eventually(async () => {
                const left = await db.query(
                    `SELECT 1 FROM outbox_jobs WHERE finished_at = $1::timestamptz
                     UNION ALL SELECT 1 FROM inbound_events WHERE event_id = 'ev-old'`,
                    [OLD]
                );
                return left.rows.length === 0 ? true : undefined;
            });
            expect(await metricValue(sandbox.metrics, 'bridge_retention_deleted_total', { table: 'outbox_jobs' })).toBe(
                1
            );
            expect(
                await metricValue(sandbox.metrics, 'bridge_retention_deleted_total', { table: 'inbound_events' })
            ).toBe(1);
            expect(await metricValue(sandbox.metrics, 'bridge_retention_last_run_timestamp_seconds')).toBeGreaterThan(
                0
            );
            const runs = await db.query<{ idempotency_key: string }>(
                `SELECT idempotency_key FROM outbox_jobs WHERE kind = 'bridge.retention'`
            );
            expect(runs.rows.length).toBeGreaterThan(0);
            expect(new Set(runs.rows.map((r) => r.idempotency_key)).size).toBe(runs.rows.length);
        } finally {
            await sandbox.stop();
        }
    });
});
