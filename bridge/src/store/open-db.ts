import path from 'node:path';
import { BridgeError } from '../core/errors';
import type { Logger } from '../observability/logger';
import type { Db } from './db';
import { migrate } from './migrate';
import { openPgliteDb } from './pglite-db';
import { openPostgresDb } from './postgres-db';

export interface DatabaseSettings {
    /** DATABASE_URL; unset = the embedded database in dataDir. */
    url: string | undefined;
    /** BRIDGE_DATA_DIR */
    dataDir: string;
    /** Optional schema on the server (tests use one per run). */
    schema?: string | undefined;
}

/**
 * Opens the bridge's database (PostgreSQL when a URL is set, else PGlite in the data folder) and
 * brings its schema up to date. Failures carry `bridge_store_unreachable` (cannot connect or open) or
 * `bridge_store_migration_failed`, with a message saying what the operator should check.
 */
export async function openDb(settings: DatabaseSettings, logger: Logger): Promise<Db> {
    const db = await connect(settings, logger);
    try {
        const report = await migrate(db);
        logger.info(
            { engine: db.kind, schemaVersion: report.current, appliedMigrations: report.applied },
            'database ready'
        );
        return db;
    } catch (error) {
        await db.close().catch(() => undefined);
        throw new BridgeError(
            'bridge_store_migration_failed',
            `The database schema could not be brought up to date: ${messageOf(error)}. ` +
                'Check that the database user may create tables, and that no newer bridge version migrated it.',
            { cause: error }
        );
    }
}

/** Connects (same errors as openDb) without touching the schema: for tools that only inspect it. */
export async function connectDb(settings: DatabaseSettings, logger: Logger): Promise<Db> {
    return connect(settings, logger);
}

async function connect(settings: DatabaseSettings, logger: Logger): Promise<Db> {
    if (settings.url !== undefined && settings.url !== '') {
        const where = describePostgresUrl(settings.url);
        try {
            return await openPostgresDb({ url: settings.url, schema: settings.schema, logger });
        } catch (error) {
            throw new BridgeError(
                'bridge_store_unreachable',
                `Cannot connect to PostgreSQL at ${where}: ${messageOf(error)}. ` +
                    'Check DATABASE_URL (host, port, database, user and password), that the server is running, ' +
                    'and that it accepts connections from this host.',
                { cause: error, details: { engine: 'postgres', target: where } }
            );
        }
    }
    const dataDir = path.resolve(settings.dataDir);
    try {
        return await openPgliteDb({ dataDir });
    } catch (error) {
        throw new BridgeError(
            'bridge_store_unreachable',
            `Cannot open the embedded database in ${dataDir}: ${messageOf(error)}. ` +
                'Check BRIDGE_DATA_DIR: the folder must be writable and not in use by another bridge process; ' +
                'or set DATABASE_URL to use a PostgreSQL server.',
            { cause: error, details: { engine: 'pglite', dataDir } }
        );
    }
}

/** `user@host:port/database` — a connection URL without its password, for messages and logs. */
export function describePostgresUrl(url: string): string {
    try {
        const parsed = new URL(url);
        const user = parsed.username === '' ? '' : `${decodeURIComponent(parsed.username)}@`;
        const port = parsed.port === '' ? '5432' : parsed.port;
        return `${user}${parsed.hostname}:${port}${parsed.pathname === '' ? '' : parsed.pathname}`;
    } catch {
        return '(an unparseable DATABASE_URL)';
    }
}

function messageOf(error: unknown): string {
    if (error instanceof AggregateError && error.errors.length > 0) {
        return error.errors.map((e) => messageOf(e)).join('; ');
    }
    if (error instanceof Error) return error.message === '' ? error.name : error.message;
    return String(error);
}
