import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import type { Transaction } from '@electric-sql/pglite';
import type { Db, Queryable, QueryResult } from './db';

/** PostgreSQL type oid of int8 / bigint. */
const INT8_OID = 20;

export interface PgliteDbOptions {
    /** Folder of the database files; created if missing. Undefined = in memory (tests). */
    dataDir?: string | undefined;
}

/**
 * The embedded database (PGlite: PostgreSQL compiled to WASM, in-process). It is a single connection:
 * PGlite itself runs every query and transaction under one exclusive lock, so concurrent `transaction()`
 * calls queue instead of interleaving, and a plain `query()` never lands inside someone else's
 * transaction. Consequence: inside `transaction(fn)`, fn must use its `tx`, never the Db itself
 * (that would wait for the transaction it is part of).
 */
export async function openPgliteDb(options: PgliteDbOptions = {}): Promise<Db> {
    if (options.dataDir !== undefined) await mkdir(options.dataDir, { recursive: true });
    // int8 comes back as a string, as node-postgres returns it, so both engines look alike to callers.
    const pglite = await PGlite.create({
        ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
        parsers: { [INT8_OID]: (value: string) => value }
    });
    return {
        kind: 'pglite',
        query: <Row>(sql: string, params?: readonly unknown[]) => run<Row>(pglite, sql, params),
        transaction: <T>(fn: (tx: Queryable) => Promise<T>) =>
            pglite.transaction((tx) =>
                fn({ query: <Row>(sql: string, params?: readonly unknown[]) => run<Row>(tx, sql, params) })
            ),
        close: async () => {
            if (!pglite.closed) await pglite.close();
        }
    };
}

async function run<Row>(
    target: PGlite | Transaction,
    sql: string,
    params: readonly unknown[] | undefined
): Promise<QueryResult<Row>> {
    const result = await target.query<Row>(sql, params === undefined ? undefined : [...params]);
    return { rows: result.rows, affectedRows: result.affectedRows ?? 0 };
}
