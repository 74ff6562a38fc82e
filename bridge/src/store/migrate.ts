import type { Db } from './db';
import { MIGRATIONS } from './migrations';
import type { Migration } from './migrations';

export interface MigrationReport {
    applied: number[];
    current: number;
}

/**
 * Applies every migration not yet recorded in `schema_migrations`, in version order, all in one
 * transaction. A transaction-scoped advisory lock, keyed by the current schema, makes instances that
 * start together wait for each other instead of racing; the loser then finds nothing left to apply.
 */
export async function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationReport> {
    const ordered = [...migrations].sort((a, b) => a.version - b.version);
    return db.transaction(async (tx) => {
        await tx.query(`SELECT pg_advisory_xact_lock(hashtext('haptik-bridge-migrations:' || current_schema()))`);
        await tx.query(
            `CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )`
        );
        const done = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
        const seen = new Set(done.rows.map((row) => Number(row.version)));
        const applied: number[] = [];
        for (const migration of ordered) {
            if (seen.has(migration.version)) continue;
            for (const statement of migration.statements) await tx.query(statement);
            await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
                migration.version,
                migration.name
            ]);
            applied.push(migration.version);
        }
        const current = Math.max(0, ...seen, ...applied);
        return { applied, current };
    });
}

export interface MigrationStatus {
    /** Versions recorded in `schema_migrations` (none when the table does not exist yet). */
    applied: number[];
    /** Known migrations not applied yet; the bridge applies them when it starts. */
    pending: Migration[];
    /** Applied versions this code does not know: a newer bridge migrated the database. */
    unknown: number[];
}

/** What migrate() would do, without doing it or taking a lock: for `npm run doctor`. */
export async function migrationStatus(db: Db, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationStatus> {
    const table = await db.query<{ found: string | null }>(`SELECT to_regclass('schema_migrations')::text AS found`);
    const rows =
        table.rows[0]?.found == null
            ? []
            : (await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows;
    const applied = rows.map((row) => Number(row.version));
    const known = new Set(migrations.map((m) => m.version));
    return {
        applied,
        pending: [...migrations].sort((a, b) => a.version - b.version).filter((m) => !applied.includes(m.version)),
        unknown: applied.filter((version) => !known.has(version))
    };
}
