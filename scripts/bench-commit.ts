/**
 * What one durable commit costs on this machine (issue 17): the floor under every acknowledgement the bridge gives
 * Haptik, which it sends only after its write is committed. `npm run bench:commit` (BENCH_COMMITS, default 500;
 * BENCH_FSYNC_DIR, default the system's temporary directory; PostgreSQL from BENCH_DATABASE_URL, else
 * TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test).
 *
 * Three figures, one after the other, each a sequence of BENCH_COMMITS operations timed one by one:
 * - fdatasync of an 8 KB write in BENCH_FSYNC_DIR (what PostgreSQL's WAL flush does, `wal_sync_method`);
 * - a one-row INSERT committed by PostgreSQL with `synchronous_commit = on` (the bridge's setting: durable);
 * - the same with `synchronous_commit = off` (not durable: shows what the flush adds).
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

const COMMITS = Number(process.env['BENCH_COMMITS'] ?? 500);
const FSYNC_DIR = process.env['BENCH_FSYNC_DIR'] ?? os.tmpdir();
const DATABASE_URL =
    process.env['BENCH_DATABASE_URL'] ?? process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

function summary(label: string, ms: number[]): string {
    const sorted = [...ms].sort((a, b) => a - b);
    const at = (q: number): string => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2);
    return `| ${label} | ${sorted.length} | ${at(0.5)} ms | ${at(0.9)} ms | ${at(0.99)} ms | ${sorted[sorted.length - 1]!.toFixed(2)} ms |`;
}

function fsyncTimes(): number[] {
    const dir = mkdtempSync(path.join(FSYNC_DIR, 'bench-commit-'));
    const fd = openSync(path.join(dir, 'probe'), 'w');
    const block = Buffer.alloc(8192, 1);
    const times: number[] = [];
    try {
        for (let i = 0; i < COMMITS; i++) {
            writeSync(fd, block, 0, block.length, (i % 16) * block.length);
            const start = process.hrtime.bigint();
            fdatasyncSync(fd);
            times.push(Number(process.hrtime.bigint() - start) / 1e6);
        }
    } finally {
        closeSync(fd);
        rmSync(dir, { recursive: true, force: true });
    }
    return times;
}

async function commitTimes(client: pg.Client, synchronous: boolean): Promise<number[]> {
    await client.query(`SET synchronous_commit = ${synchronous ? 'on' : 'off'}`);
    const times: number[] = [];
    for (let i = 0; i < COMMITS; i++) {
        const start = process.hrtime.bigint();
        await client.query('INSERT INTO bench_commit (n) VALUES ($1)', [i]);
        times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return times;
}

async function main(): Promise<void> {
    const load = os
        .loadavg()
        .map((n) => n.toFixed(1))
        .join(' ');
    console.log(`Date: ${new Date().toISOString()}; ${os.cpus().length} cores; load average at start ${load}`);
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    const walSync = (await client.query<{ wal_sync_method: string }>('SHOW wal_sync_method')).rows[0]?.wal_sync_method;
    const schema = `bench_commit_${process.pid}`;
    try {
        await client.query(`CREATE SCHEMA ${schema}`);
        await client.query(`SET search_path = ${schema}`);
        await client.query('CREATE TABLE bench_commit (n integer NOT NULL)');
        const rows = [
            summary(`fdatasync, 8 KB, in ${FSYNC_DIR}`, fsyncTimes()),
            summary('PostgreSQL commit, synchronous_commit = on (durable)', await commitTimes(client, true)),
            summary('PostgreSQL commit, synchronous_commit = off (not durable)', await commitTimes(client, false))
        ];
        console.log(`PostgreSQL wal_sync_method: ${walSync ?? 'unknown'}\n`);
        console.log('| operation | count | p50 | p90 | p99 | max |\n| --- | --- | --- | --- | --- | --- |');
        for (const row of rows) console.log(row);
    } finally {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await client.end();
    }
}

main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
});
