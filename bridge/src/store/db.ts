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
    /**
     * Calls `onNotify` for each NOTIFY on `channel` in this database's schema (`<channel>:<schema>`), from any
     * process; resolves to a function that stops listening. Only where other processes can share the
     * database (PostgreSQL); the embedded database has no other process to hear from.
     */
    listen?(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
    close(): Promise<void>;
}
