/**
 * The one SQL port every store module uses. Two implementations: embedded PostgreSQL (PGlite, the
 * default) and a real PostgreSQL server (pg). Both speak the PostgreSQL dialect with $1-style parameters.
 */
export interface QueryResult<Row> {
    rows: Row[];
    /** Rows inserted, updated or deleted by the statement. */
    affectedRows: number;
}

export interface Queryable {
    query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
}

export interface Db extends Queryable {
    /** Which engine this is; shown by /readyz and the doctor. */
    readonly kind: 'pglite' | 'postgres';
    /** Runs fn in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it throws. */
    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
    close(): Promise<void>;
}
