import { Client, Pool } from 'pg';
import type { PoolClient } from 'pg';
import type { Logger } from '../observability/logger';
import type { Db, Queryable, QueryResult } from './db';

export interface PostgresDbOptions {
    /** postgres://user:password@host:port/database */
    url: string;
    /** Schema to work in (created if missing); default: the server's search_path (public). */
    schema?: string | undefined;
    /** Pool size; default 10. */
    max?: number | undefined;
    logger?: Logger | undefined;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const UNIQUE_VIOLATION = '23505';
const DUPLICATE_SCHEMA = '42P06';
const WRITE_COMMANDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

/**
 * A PostgreSQL server through a node-postgres pool. With `schema`, every pooled connection starts with
 * that search_path (sent in the startup packet), so a test run can own a schema and never collide.
 * Connects once before returning, so a wrong URL fails here rather than on the first request.
 */
export async function openPostgresDb(options: PostgresDbOptions): Promise<Db> {
    const { schema } = options;
    if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
        throw new Error(`schema name ${JSON.stringify(schema)} must be a lower-case SQL identifier`);
    }
    if (schema !== undefined) await createSchema(options.url, schema);
    const pool = new Pool({
        connectionString: options.url,
        max: options.max ?? 10,
        ...(schema === undefined ? {} : { options: `-c search_path=${schema}` })
    });
    // An idle connection dropped by the server must not crash the process; the pool replaces it.
    pool.on('error', (error) => options.logger?.warn({ err: error.message }, 'idle PostgreSQL connection failed'));
    try {
        const client = await pool.connect();
        client.release();
    } catch (error) {
        await pool.end().catch(() => undefined);
        throw error;
    }
    return {
        kind: 'postgres',
        query: <Row>(sql: string, params?: readonly unknown[]) => run<Row>(pool, sql, params),
        transaction: async <T>(fn: (tx: Queryable) => Promise<T>) => {
            const client = await pool.connect();
            let broken: Error | undefined;
            // A checked-out client has no pool listener: a dropped connection (a server restart) would emit
            // 'error' with nobody listening and crash the process. Its queries fail anyway; note it and go on.
            const onError = (error: Error): void => {
                broken = error;
                options.logger?.warn({ err: error.message }, 'PostgreSQL connection failed during a transaction');
            };
            client.on('error', onError);
            try {
                await client.query('BEGIN');
                const result = await fn({
                    query: <Row>(sql: string, params?: readonly unknown[]) => run<Row>(client, sql, params)
                });
                await client.query('COMMIT');
                return result;
            } catch (error) {
                try {
                    await client.query('ROLLBACK');
                } catch (rollbackError) {
                    // A connection that cannot roll back is not given back to the pool.
                    broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
                }
                throw error;
            } finally {
                client.off('error', onError);
                client.release(broken);
            }
        },
        listen: (channel, onNotify) => listen(options, channel, onNotify),
        close: () => pool.end()
    };
}

/**
 * One connection of its own per listener (a pooled one would lose its LISTEN when given back). If it
 * drops, it reconnects after a pause; meanwhile the caller's polling still finds the work, only later.
 */
async function listen(options: PostgresDbOptions, channel: string, onNotify: () => void): Promise<() => Promise<void>> {
    let client: Client | undefined;
    let stopped = false;
    let retry: NodeJS.Timeout | undefined;
    const name = `${channel}:${options.schema ?? 'public'}`;
    const connect = async (): Promise<void> => {
        const next = new Client({
            connectionString: options.url,
            ...(options.schema === undefined ? {} : { options: `-c search_path=${options.schema}` })
        });
        next.on('notification', (message) => {
            if (message.channel === name) onNotify();
        });
        next.on('error', (error) => {
            options.logger?.warn({ err: error.message }, 'PostgreSQL listener connection failed; reconnecting');
            void next.end().catch(() => undefined);
            if (client === next) client = undefined;
            if (!stopped) retry = setTimeout(() => void connect().catch(() => undefined), 5000);
        });
        await next.connect();
        await next.query(`LISTEN "${name.replace(/"/g, '""')}"`);
        if (stopped) {
            await next.end();
            return;
        }
        client = next;
    };
    await connect();
    return async () => {
        stopped = true;
        if (retry) clearTimeout(retry);
        await client?.end().catch(() => undefined);
        client = undefined;
    };
}

async function createSchema(url: string, schema: string): Promise<void> {
    const pool = new Pool({ connectionString: url, max: 1 });
    try {
        await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    } catch (error) {
        // Two instances creating it at once: IF NOT EXISTS does not cover the race, the loser gets these.
        const code = (error as { code?: unknown }).code;
        if (code !== UNIQUE_VIOLATION && code !== DUPLICATE_SCHEMA) throw error;
    } finally {
        await pool.end();
    }
}

async function run<Row>(
    target: Pool | PoolClient,
    sql: string,
    params: readonly unknown[] | undefined
): Promise<QueryResult<Row>> {
    const result = await target.query(sql, params === undefined ? undefined : [...params]);
    return {
        rows: result.rows as Row[],
        affectedRows: WRITE_COMMANDS.has(result.command) ? (result.rowCount ?? 0) : 0
    };
}
