import type { Db, Queryable } from './db';

/** Statements sent to the database, BEGIN and COMMIT (or ROLLBACK) included. */
export interface StatementCount {
    statements: number;
    transactions: number;
    /** Called with each statement's SQL (BEGIN and COMMIT as such), e.g. to see which ones a path sends. */
    onStatement?: ((sql: string) => void) | undefined;
}

export function newStatementCount(): StatementCount {
    return { statements: 0, transactions: 0 };
}

/**
 * A Db that counts the statements it sends into `count` (the benchmarks report statements per relayed
 * message with it; tests assert how many a path costs). Each transaction adds its BEGIN and its end.
 */
export function countingDb(db: Db, count: StatementCount): Db {
    const counted = (q: Queryable): Queryable => ({
        query: (sql, params) => {
            count.statements += 1;
            count.onStatement?.(sql);
            return q.query(sql, params);
        }
    });
    return {
        kind: db.kind,
        ...counted(db),
        transaction: (fn) => {
            count.transactions += 1;
            count.statements += 2;
            count.onStatement?.('BEGIN');
            return db.transaction((tx) => fn(counted(tx))).finally(() => count.onStatement?.('COMMIT'));
        },
        ...(db.listen === undefined ? {} : { listen: db.listen.bind(db) }),
        close: () => db.close()
    };
}
