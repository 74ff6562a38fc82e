/**
 * Operator tool for the outbox's dead letters:
 *
 *   node dist/scripts/outbox.js list [limit]    dead jobs as a table (no payloads: they may hold personal data)
 *   node dist/scripts/outbox.js retry <id>      send one dead job back to the queue
 *   node dist/scripts/outbox.js retry-all       send every dead job back
 *
 * Reads only DATABASE_URL and BRIDGE_DATA_DIR, so it runs without the Haptik and Salesforce settings.
 * With the embedded database (no DATABASE_URL) stop the bridge first: one data folder, one process.
 */
import { openDb } from '../bridge/src/store/open-db';
import { listDeadJobs, outboxDepth, retryAllDead, retryDeadJob } from '../bridge/src/store/outbox';
import type { OutboxJob } from '../bridge/src/store/outbox';
import { silentLogger } from '../bridge/src/observability/logger';

const USAGE = 'usage: outbox list [limit] | retry <job id> | retry-all';

export function formatDeadJobs(jobs: readonly OutboxJob[]): string {
    if (jobs.length === 0) return 'No dead jobs.';
    const header = ['id', 'kind', 'ordering key', 'attempts', 'failed at', 'error'];
    const rows = jobs.map((job) => [
        job.id,
        job.kind,
        job.orderingKey,
        String(job.attempts),
        (job.finishedAt ?? job.updatedAt).toISOString(),
        `${job.lastErrorCode ?? ''}: ${(job.lastError ?? '').replace(/\s+/g, ' ')}`.slice(0, 100)
    ]);
    const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
    const line = (cells: readonly string[]) =>
        cells
            .map((cell, i) => cell.padEnd(widths[i]!))
            .join('  ')
            .trimEnd();
    return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function main(args: readonly string[]): Promise<number> {
    const [command, argument] = args;
    if (command !== 'list' && command !== 'retry' && command !== 'retry-all') {
        console.error(USAGE);
        return 2;
    }
    if (command === 'retry' && (argument === undefined || !/^\d+$/.test(argument))) {
        console.error(`retry needs a numeric job id (see "outbox list").\n${USAGE}`);
        return 2;
    }
    const url = process.env['DATABASE_URL'];
    const db = await openDb(
        { url: url === '' ? undefined : url, dataDir: process.env['BRIDGE_DATA_DIR'] || './data' },
        silentLogger()
    );
    try {
        switch (command) {
            case 'list': {
                const limit = argument !== undefined && /^\d+$/.test(argument) ? Number(argument) : 100;
                console.log(formatDeadJobs(await listDeadJobs(db, limit)));
                const depth = await outboxDepth(db);
                console.log(`\npending ${depth.pending}, running ${depth.running}, dead ${depth.dead}`);
                return 0;
            }
            case 'retry': {
                if (await retryDeadJob(db, argument!)) {
                    console.log(`Job ${argument!} is queued again.`);
                    return 0;
                }
                console.error(`Job ${argument!} is not a dead job (see "outbox list").`);
                return 1;
            }
            case 'retry-all': {
                console.log(`${await retryAllDead(db)} dead job(s) queued again.`);
                return 0;
            }
        }
    } finally {
        await db.close();
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => {
            process.exitCode = code;
        },
        (error: unknown) => {
            console.error(error instanceof Error ? error.message : String(error));
            process.exitCode = 1;
        }
    );
}
