import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A PostgreSQL server of the test's own (initdb in a temp folder, a free port on loopback, trust auth),
 * so a test can restart or stop it without touching the shared one. Needs the server binaries
 * (initdb, pg_ctl): found under /usr/lib/postgresql/<version>/bin or on PATH, else a clear error.
 */
export interface OwnPostgres {
    url: string;
    restart(): Promise<void>;
    stop(): Promise<void>;
}

function binaries(): string {
    const root = '/usr/lib/postgresql';
    const versions = existsSync(root)
        ? readdirSync(root)
              .filter((v) => existsSync(path.join(root, v, 'bin', 'pg_ctl')))
              .sort((a, b) => Number(b) - Number(a))
        : [];
    const found = versions[0] === undefined ? undefined : path.join(root, versions[0], 'bin');
    if (found !== undefined) return found;
    const onPath = (process.env['PATH'] ?? '').split(':').find((dir) => existsSync(path.join(dir, 'pg_ctl')));
    if (onPath !== undefined) return onPath;
    throw new Error(
        'This test starts its own PostgreSQL server and needs its binaries (initdb, pg_ctl): install PostgreSQL ' +
            '(e.g. apt-get install postgresql-15) so that /usr/lib/postgresql/<version>/bin/pg_ctl exists or pg_ctl is on PATH'
    );
}

async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
    const bin = binaries();
    const dir = await mkdtemp(path.join(tmpdir(), 'bridge-pg-'));
    const data = path.join(dir, 'data');
    const port = await freePort();
    // initdb refuses to run as root; the machine's tests may run as root, so run it as the postgres user then.
    const asRoot = process.getuid?.() === 0;
    const exec = async (file: string, args: string[]): Promise<void> => {
        if (asRoot) {
            await run('chown', ['-R', 'postgres', dir]);
            await run('su', ['postgres', '-s', '/bin/sh', '-c', [path.join(bin, file), ...args].map(quote).join(' ')]);
        } else {
            await run(path.join(bin, file), args);
        }
    };
    await exec('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    const ctl = (...args: string[]): Promise<void> =>
        exec('pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'log'), '-w', '-t', '30', ...args]);
    await ctl('start');
    return {
        url: `postgres://postgres@127.0.0.1:${port}/postgres`,
        restart: () => ctl('restart', '-m', 'fast'),
        stop: async () => {
            await ctl('stop', '-m', 'immediate').catch(() => undefined);
            await rm(dir, { recursive: true, force: true });
        }
    };
}

function quote(arg: string): string {
    return `'${arg.replace(/'/g, `'\\''`)}'`;
}
