import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Db } from '../../bridge/src/store/db';
import { openDb, describePostgresUrl } from '../../bridge/src/store/open-db';
import { migrate } from '../../bridge/src/store/migrate';
import { MIGRATIONS } from '../../bridge/src/store/migrations';
import { isBridgeError } from '../../bridge/src/core/errors';
import { silentLogger } from '../../bridge/src/observability/logger';
import {
    getInboundEvent,
    listUnprocessed,
    markInboundProcessed,
    recordInboundEvent
} from '../../bridge/src/store/inbox';
import {
    conversationKey,
    getConversation,
    setConversationCase,
    upsertConversation
} from '../../bridge/src/store/conversations';
import {
    createHandoverSession,
    findActiveHandoverBySalesforceSession,
    getActiveHandover,
    listHandoversByConversation,
    updateHandoverSession
} from '../../bridge/src/store/handover-sessions';
import { appendMessage, listMessages } from '../../bridge/src/store/message-log';
import { jsonParam } from '../../bridge/src/store/sql';
import { getIdempotentResult, rememberOnce } from '../../bridge/src/store/idempotency';
import { databaseTargets, dropSchema, openBarePostgres, testDatabaseUrl, uniqueSchemaName } from '../support/databases';

async function newConversation(db: Db): Promise<string> {
    const conversation = await upsertConversation(db, {
        businessId: 343,
        userId: `user-${randomUUID()}`,
        conversationNo: 7,
        channel: 'WhatsApp'
    });
    return conversation.key;
}

describe.each(databaseTargets())('store on $name', (target) => {
    let db: Db;

    beforeAll(async () => {
        db = await target.open();
    });

    afterAll(async () => {
        await db.close();
    });

    describe('migrations', () => {
        it('records each migration once and applies nothing on a second run', async () => {
            const recorded = await db.query<{ version: number; name: string }>(
                'SELECT version, name FROM schema_migrations ORDER BY version'
            );
            expect(recorded.rows.map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));

            const again = await migrate(db);
            expect(again.applied).toEqual([]);
            expect(again.current).toBe(MIGRATIONS.at(-1)!.version);
            const count = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM schema_migrations');
            expect(count.rows[0]!.n).toBe(String(MIGRATIONS.length));
            const tables = await db.query<{ table_name: string }>(
                `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`
            );
            expect(tables.rows.map((r) => r.table_name)).toEqual([
                'bridge_instances',
                'byoc_events',
                'byoc_subscriptions',
                'conversations',
                'handover_files',
                'handover_sessions',
                'haptik_users',
                'idempotency_keys',
                'inbound_events',
                'message_log',
                'outbox_jobs',
                'schema_migrations',
                'tract_tokens'
            ]);
        });
    });

    describe('transactions', () => {
        it('commits when the function resolves and rolls back when it throws', async () => {
            const key = await newConversation(db);
            await expect(
                db.transaction(async (tx) => {
                    await setConversationCase(tx, key, { caseId: '500000000000001AAA', caseNumber: '00001001' });
                    throw new Error('boom');
                })
            ).rejects.toThrow('boom');
            expect((await getConversation(db, key))!.caseId).toBeNull();

            await db.transaction(async (tx) => {
                await setConversationCase(tx, key, { caseId: '500000000000001AAA', caseNumber: '00001001' });
            });
            expect((await getConversation(db, key))!.caseNumber).toBe('00001001');
        });

        it('keeps concurrent read-modify-write transactions apart', async () => {
            const key = await newConversation(db);
            await Promise.all(
                Array.from({ length: 8 }, () =>
                    db.transaction(async (tx) => {
                        // FOR UPDATE is what PostgreSQL needs; PGlite serialises whole transactions anyway.
                        const current = await tx.query<{ context: { n?: number } }>(
                            'SELECT context FROM conversations WHERE key = $1 FOR UPDATE',
                            [key]
                        );
                        const n = current.rows[0]!.context.n ?? 0;
                        await new Promise((resolve) => setImmediate(resolve));
                        await tx.query('UPDATE conversations SET context = $2::jsonb WHERE key = $1', [
                            key,
                            JSON.stringify({ n: n + 1 })
                        ]);
                    })
                )
            );
            expect((await getConversation(db, key))!.context).toEqual({ n: 8 });
        });
    });

    describe('inbox', () => {
        it('detects a repeated event and tracks what is still unprocessed', async () => {
            const source = `haptik-${randomUUID()}`;
            const first = await recordInboundEvent(db, {
                source,
                eventId: 'evt-1',
                payload: { event_name: 'message' }
            });
            const repeat = await recordInboundEvent(db, { source, eventId: 'evt-1', payload: { event_name: 'other' } });
            await recordInboundEvent(db, { source, eventId: 'evt-2', payload: [1, 2] });
            expect(first.duplicate).toBe(false);
            expect(repeat.duplicate).toBe(true);
            expect((await getInboundEvent(db, source, 'evt-1'))!.payload).toEqual({ event_name: 'message' });

            expect((await listUnprocessed(db, { source })).map((e) => e.eventId)).toEqual(['evt-1', 'evt-2']);
            await markInboundProcessed(db, { source, eventId: 'evt-1' });
            await markInboundProcessed(db, { source, eventId: 'evt-2', error: 'bridge_haptik_invalid' });
            expect(await listUnprocessed(db, { source })).toEqual([]);
            const failed = await getInboundEvent(db, source, 'evt-2');
            expect(failed!.payload).toEqual([1, 2]);
            expect(failed!.error).toBe('bridge_haptik_invalid');
            expect(failed!.processedAt).toBeInstanceOf(Date);
        });
    });

    describe('conversations', () => {
        it('upserts without erasing what an earlier writer stored, and links the Case', async () => {
            const userId = `user-${randomUUID()}`;
            const created = await upsertConversation(db, {
                businessId: 343,
                userId,
                conversationNo: 12,
                channel: 'Web',
                context: { intent: 'refund_request' }
            });
            expect(created.key).toBe(conversationKey(343, userId, 12));
            expect(created.key).toBe(`343:${userId}:12`);

            const again = await upsertConversation(db, { businessId: '343', userId, conversationNo: '12' });
            expect(again.channel).toBe('Web');
            expect(again.context).toEqual({ intent: 'refund_request' });

            const linked = await setConversationCase(db, created.key, { caseId: '500xx', caseNumber: '00001234' });
            expect(linked).toMatchObject({
                caseId: '500xx',
                caseNumber: '00001234',
                businessId: '343',
                conversationNo: '12'
            });
            expect(await setConversationCase(db, 'missing:key:1', { caseId: '500yy' })).toBeUndefined();
        });
    });

    describe('message log', () => {
        it('stores a replayed message once and lists in logged order', async () => {
            const key = await newConversation(db);
            const hsl = [{ type: 'TEXT', payload: { text: 'hi' } }];
            const a = await appendMessage(db, {
                conversationKey: key,
                direction: 'in',
                sender: 'user',
                text: 'hi',
                hsl,
                externalId: 'm-1'
            });
            const replay = await appendMessage(db, {
                conversationKey: key,
                direction: 'in',
                sender: 'user',
                text: 'hi',
                externalId: 'm-1'
            });
            // The same id in the other direction is another message (e.g. our echo to Salesforce).
            const echo = await appendMessage(db, {
                conversationKey: key,
                direction: 'out',
                sender: 'user',
                text: 'hi',
                externalId: 'm-1'
            });
            await appendMessage(db, { conversationKey: key, direction: 'out', sender: 'agent', text: 'hello' });
            await appendMessage(db, {
                conversationKey: key,
                direction: 'out',
                sender: 'agent',
                text: 'how can I help?'
            });

            expect(a.duplicate).toBe(false);
            expect(replay).toEqual({ id: a.id, duplicate: true });
            expect(echo.duplicate).toBe(false);
            const messages = await listMessages(db, key);
            expect(messages.map((m) => `${m.direction}:${m.sender}:${m.text}`)).toEqual([
                'in:user:hi',
                'out:user:hi',
                'out:agent:hello',
                'out:agent:how can I help?'
            ]);
            expect(messages[0]!.hsl).toEqual(hsl);
            expect((await listMessages(db, key, { limit: 2 })).map((m) => m.text)).toEqual([
                'hello',
                'how can I help?'
            ]);
        });
    });

    describe('handover sessions', () => {
        it('allows one active handover per conversation and moves state optimistically', async () => {
            const key = await newConversation(db);
            const first = await createHandoverSession(db, {
                conversationKey: key,
                adapter: 'enhanced',
                state: 'requested'
            });
            const second = await createHandoverSession(db, {
                conversationKey: key,
                adapter: 'legacy',
                state: 'requested'
            });
            expect(first.created).toBe(true);
            expect(second).toEqual({ created: false, session: first.session });

            const stale = await updateHandoverSession(db, first.session.id, 'connected', { state: 'ended' });
            expect(stale).toBeUndefined();

            const connected = await updateHandoverSession(db, first.session.id, 'requested', {
                state: 'connected',
                agentName: 'Agent Smith',
                salesforceSessionId: `0Mw${randomUUID()}`,
                adapterState: { conversationId: 'c-1', lastEntry: 3 },
                lastEventId: 'e-9'
            });
            expect(connected).toMatchObject({
                state: 'connected',
                agentName: 'Agent Smith',
                lastEventId: 'e-9',
                endedAt: null
            });
            expect(connected!.adapterState).toEqual({ conversationId: 'c-1', lastEntry: 3 });
            expect(await findActiveHandoverBySalesforceSession(db, connected!.salesforceSessionId!)).toEqual(connected);

            const ended = await updateHandoverSession(db, first.session.id, 'connected', {
                state: 'ended',
                stateReason: 'agent closed'
            });
            expect(ended!.endedAt).toBeInstanceOf(Date);
            expect(await getActiveHandover(db, key)).toBeUndefined();

            const next = await createHandoverSession(db, {
                conversationKey: key,
                adapter: 'legacy',
                state: 'requested'
            });
            expect(next.created).toBe(true);
            expect((await listHandoversByConversation(db, key)).map((s) => s.state)).toEqual(['ended', 'requested']);
        });

        it('creates exactly one handover when several requests race', async () => {
            const key = await newConversation(db);
            const results = await Promise.all(
                Array.from({ length: 6 }, () =>
                    db.transaction((tx) =>
                        createHandoverSession(tx, { conversationKey: key, adapter: 'enhanced', state: 'requested' })
                    )
                )
            );
            expect(results.filter((r) => r.created)).toHaveLength(1);
            expect(new Set(results.map((r) => r.session.id)).size).toBe(1);
        });
    });

    describe('idempotency keys', () => {
        it('computes once and replays the stored result', async () => {
            const key = randomUUID();
            let calls = 0;
            const compute = () => {
                calls += 1;
                return Promise.resolve({ caseNumber: '00001001', calls });
            };
            const first = await db.transaction((tx) => rememberOnce(tx, 'case', key, compute));
            const second = await db.transaction((tx) => rememberOnce(tx, 'case', key, compute));
            expect(first).toEqual({ result: { caseNumber: '00001001', calls: 1 }, replayed: false });
            expect(second).toEqual({ result: { caseNumber: '00001001', calls: 1 }, replayed: true });
            expect(calls).toBe(1);
            expect(await getIdempotentResult(db, 'case', key)).toEqual({
                found: true,
                result: { caseNumber: '00001001', calls: 1 }
            });
            expect(await getIdempotentResult(db, 'other-scope', key)).toEqual({ found: false });
        });
    });
});

describe('embedded database in a data folder', () => {
    let dir: string;

    beforeAll(async () => {
        dir = await mkdtemp(path.join(tmpdir(), 'bridge-store-'));
    });

    afterAll(async () => {
        await rm(dir, { recursive: true, force: true });
    });

    it('creates the folder, keeps state across close and reopen, and migrates only once', async () => {
        const dataDir = path.join(dir, 'nested', 'data');
        const first = await openDb({ url: undefined, dataDir }, silentLogger());
        const key = (
            await upsertConversation(first, { businessId: 1, userId: 'u-1', conversationNo: 1, channel: 'Web' })
        ).key;
        await first.close();

        const reopened = await openDb({ url: undefined, dataDir }, silentLogger());
        try {
            expect(reopened.kind).toBe('pglite');
            expect((await getConversation(reopened, key))!.channel).toBe('Web');
            const versions = await reopened.query<{ version: number }>('SELECT version FROM schema_migrations');
            expect(versions.rows).toHaveLength(MIGRATIONS.length);
            expect((await migrate(reopened)).applied).toEqual([]);
        } finally {
            await reopened.close();
        }
    });
});

describe('opening the database', () => {
    it('reports an unreachable server with a code, the cause and no password', async () => {
        const url = 'postgres://bridge:s3cret-pw@127.0.0.1:1/bridge';
        const failure: unknown = await openDb({ url, dataDir: '' }, silentLogger()).then(
            () => undefined,
            (error: unknown) => error
        );
        expect(isBridgeError(failure, 'bridge_store_unreachable')).toBe(true);
        const error = failure as Error;
        expect(error.message).toContain('bridge@127.0.0.1:1/bridge');
        expect(error.message).toContain('DATABASE_URL');
        expect(error.message).not.toContain('s3cret-pw');
        expect(error.cause).toBeDefined();
        expect(describePostgresUrl(url)).toBe('bridge@127.0.0.1:1/bridge');
    });
});

const postgresUrl = testDatabaseUrl();

// Several instances need a server with several connections, so this runs only where one is configured.
if (postgresUrl !== undefined) {
    describe('migrations on a PostgreSQL server', () => {
        it('lets instances that start together apply each migration exactly once', async () => {
            const url = postgresUrl;
            const schema = uniqueSchemaName();
            const opened = await Promise.allSettled([1, 2, 3].map(() => openBarePostgres(url, schema)));
            const instances = opened.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
            try {
                expect(opened.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
                const reports = await Promise.all(instances.map((db) => migrate(db)));
                expect(reports.flatMap((r) => r.applied).sort()).toEqual(MIGRATIONS.map((m) => m.version));
                const rows = await instances[0]!.query('SELECT version FROM schema_migrations');
                expect(rows.rows).toHaveLength(MIGRATIONS.length);
            } finally {
                await Promise.all(instances.map((db) => db.close()));
                await dropSchema(url, schema);
            }
        });
    });
}

describe('JSON parameters', () => {
    it('refuses a value nested deeper than 64 levels with a coded error, not a stack overflow', () => {
        const deep = JSON.parse('['.repeat(10_000) + ']'.repeat(10_000)) as unknown;
        let thrown: unknown;
        try {
            jsonParam({ payload: deep });
        } catch (error) {
            thrown = error;
        }
        expect(isBridgeError(thrown, 'bridge_store_json_invalid')).toBe(true);
        expect(jsonParam({ a: [[1]] })).toBe('{"a":[[1]]}');
    });
});
