import { randomBytes } from 'node:crypto';
import type { Db } from '../../bridge/src/store/db';
import { openDb } from '../../bridge/src/store/open-db';
import { openPgliteDb } from '../../bridge/src/store/pglite-db';
import { openPostgresDb } from '../../bridge/src/store/postgres-db';
import { migrate } from '../../bridge/src/store/migrate';
import { silentLogger } from '../../bridge/src/observability/logger';

/**
 * The databases a store test runs against: embedded PGlite (in memory) always, and the PostgreSQL
 * server named by TEST_DATABASE_URL when set (CI: postgres://postgres@127.0.0.1:5432/test). Each
 * PostgreSQL open() works in a fresh schema `test_<pid>_<random>`, dropped again by close().
 *
 *     describe.each(databaseTargets())('$name', (target) => { let db: Db; beforeAll(async () => { db = await target.open(); }); ... });
 */
export interface DatabaseTarget {
    name: 'pglite' | 'postgres';
    /** A migrated database of its own. Close it in afterAll. */
    open(): Promise<Db>;
}

export function testDatabaseUrl(): string | undefined {
    const url = process.env['TEST_DATABASE_URL'];
    return url === undefined || url === '' ? undefined : url;
}

export function databaseTargets(): DatabaseTarget[] {
    const targets: DatabaseTarget[] = [{ name: 'pglite', open: openMemoryPglite }];
    const url = testDatabaseUrl();
    if (url !== undefined) targets.push({ name: 'postgres', open: () => openPostgresSchema(url) });
    return targets;
}

export async function openMemoryPglite(): Promise<Db> {
    const db = await openPgliteDb({});
    await migrate(db);
    return db;
}

export function uniqueSchemaName(): string {
    return `test_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** A migrated PostgreSQL database in a fresh schema; close() drops the schema. */
export async function openPostgresSchema(url: string, schema = uniqueSchemaName()): Promise<Db> {
    const db = await openDb({ url, dataDir: '', schema }, silentLogger());
    return withSchemaDrop(db, url, schema);
}

/** An unmigrated pool on an existing or new schema, for tests that race several instances. */
export async function openBarePostgres(url: string, schema: string): Promise<Db> {
    return openPostgresDb({ url, schema, max: 4 });
}

/** Drops a test schema (and everything in it). */
export async function dropSchema(url: string, schema: string): Promise<void> {
    const admin = await openPostgresDb({ url, max: 1 });
    try {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
        await admin.close();
    }
}

function withSchemaDrop(db: Db, url: string, schema: string): Db {
    return {
        kind: db.kind,
        query: (sql, params) => db.query(sql, params),
        transaction: (fn) => db.transaction(fn),
        ...(db.listen === undefined ? {} : { listen: db.listen.bind(db) }),
        close: async () => {
            await db.close();
            await dropSchema(url, schema);
        }
    };
}
