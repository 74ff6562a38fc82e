/**
 * The benchmarks' process layout: this process is the load generator; the emulators and each bridge run in child
 * processes of their own, so each one's CPU and event loop can be told apart (bench-process-stats). Here: the shared
 * options (`--db`, `--instances`, `--cpu-prof`), the database a run uses, starting and stopping children, a small
 * request/answer protocol over IPC, and the bridges' profile summaries.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import type { BridgeProcessOptions } from './bridge-process';
import type { MonitoredProcess, PostgresProcessLister, ProcessMonitor } from './bench-process-stats';
import { formatProfileSummary, readProfile, summariseProfile } from './profile-summary';

/** The repository root (scripts run from dist/scripts). */
export const ROOT = path.resolve(__dirname, '..', '..');
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** `--name value` from the command line. */
export function argValue(name: string, argv: readonly string[] = process.argv): string | undefined {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
}

export interface BenchOptions {
    db: 'pglite' | 'postgres';
    databaseUrl: string;
    instances: number;
    /** Profile the bridge processes (node --cpu-prof) and print where their time went. */
    cpuProf: boolean;
    /** Extra node flags for the bridge processes (BENCH_BRIDGE_NODE_ARGS). */
    bridgeNodeArgs: string[];
    write: boolean;
}

/**
 * `--db pglite|postgres` (or BENCH_DB; default PostgreSQL when BENCH_DATABASE_URL or TEST_DATABASE_URL is set, as
 * before), `--instances N` (or BENCH_INSTANCES), `--cpu-prof` (or BENCH_CPU_PROF=1), BENCH_WRITE=0.
 */
export function benchOptions(
    argv: readonly string[] = process.argv,
    env: NodeJS.ProcessEnv = process.env
): BenchOptions {
    const url = env['BENCH_DATABASE_URL'] ?? env['TEST_DATABASE_URL'];
    const db = argValue('--db', argv) ?? env['BENCH_DB'] ?? (url === undefined ? 'pglite' : 'postgres');
    if (db !== 'pglite' && db !== 'postgres') throw new Error(`--db takes pglite or postgres, not ${db}`);
    const instances = Number(argValue('--instances', argv) ?? env['BENCH_INSTANCES'] ?? 1);
    if (!Number.isInteger(instances) || instances < 1) throw new Error('--instances takes a whole number, e.g. 3');
    if (instances > 1 && db !== 'postgres') {
        throw new Error('several bridge instances share one PostgreSQL: add --db postgres');
    }
    return {
        db,
        databaseUrl: url ?? DEFAULT_DATABASE_URL,
        instances,
        cpuProf: argv.includes('--cpu-prof') || env['BENCH_CPU_PROF'] === '1',
        bridgeNodeArgs: (env['BENCH_BRIDGE_NODE_ARGS'] ?? '').split(' ').filter((arg) => arg !== ''),
        write: env['BENCH_WRITE'] !== '0'
    };
}

/** The flags of a run, for the report's command line. */
export function optionFlags(options: BenchOptions): string[] {
    return [
        `--db ${options.db}`,
        ...(options.instances > 1 ? [`--instances ${options.instances}`] : []),
        ...(options.cpuProf ? ['--cpu-prof'] : [])
    ];
}

export interface BenchDatabase {
    /** DATABASE_URL or BRIDGE_DATA_DIR for the bridges */
    env: Record<string, string>;
    schema?: string;
    label: string;
    /** PostgreSQL's processes working for this run's bridges, and its background processes */
    postgresProcesses?: PostgresProcessLister;
    close(): Promise<void>;
}

/**
 * A fresh database for one run: a PGlite folder, or a schema of its own on PostgreSQL whose connections carry an
 * application_name, so the monitor finds the backends serving this run's bridges in pg_stat_activity.
 */
export async function benchDatabase(options: BenchOptions, name: string): Promise<BenchDatabase> {
    if (options.db === 'pglite') {
        const dataDir = await mkdtemp(path.join(os.tmpdir(), `bench-${name}-`));
        return {
            env: { BRIDGE_DATA_DIR: dataDir },
            label: 'embedded PGlite (in the bridge process)',
            close: () => rm(dataDir, { recursive: true, force: true })
        };
    }
    const schema = `bench_${name.replace(/[^a-z0-9]/g, '_')}_${process.pid}`;
    const url = new URL(options.databaseUrl);
    url.searchParams.set('application_name', schema);
    const monitor = new Pool({ connectionString: options.databaseUrl, max: 1, application_name: 'bench_monitor' });
    return {
        env: { DATABASE_URL: url.toString() },
        schema,
        label: `PostgreSQL (${url.host})`,
        postgresProcesses: async () => {
            const result = await monitor.query<{ pid: number; backend_type: string; application_name: string }>(
                `SELECT pid, backend_type, application_name FROM pg_stat_activity
                  WHERE application_name = $1 OR backend_type <> 'client backend'`,
                [schema]
            );
            return result.rows.map((row) => ({
                pid: row.pid,
                kind: row.backend_type === 'client backend' ? ('backend' as const) : ('background' as const)
            }));
        },
        close: async () => {
            await monitor.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
            await monitor.end();
        }
    };
}

export interface Child {
    name: string;
    child: ChildProcess;
    /** Sends a command and resolves with the child's answer. */
    call<T>(cmd: string, args?: unknown): Promise<T>;
    /** Sends a command without waiting for an answer. */
    notify(cmd: string, args?: unknown): void;
    /** SIGTERM (a graceful exit writes --cpu-prof profiles), SIGKILL after `graceMs`. */
    stop(graceMs?: number): Promise<void>;
}

let rpcSeq = 0;

function wrap(name: string, child: ChildProcess): Child {
    const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
    child.on('message', (message: unknown) => {
        if (typeof message !== 'object' || message === null || !('rpc' in message)) return;
        const { rpc, result, error } = message as { rpc: number; result?: unknown; error?: string };
        const waiter = pending.get(rpc);
        if (waiter === undefined) return;
        pending.delete(rpc);
        if (error !== undefined) waiter.reject(new Error(`${name}: ${error}`));
        else waiter.resolve(result);
    });
    const exited = new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', () => resolve());
    });
    child.once('exit', () => {
        for (const waiter of pending.values()) waiter.reject(new Error(`${name} exited`));
        pending.clear();
    });
    return {
        name,
        child,
        call: <T>(cmd: string, args?: unknown): Promise<T> =>
            new Promise<T>((resolve, reject) => {
                const rpc = (rpcSeq += 1);
                pending.set(rpc, { resolve: resolve as (value: unknown) => void, reject });
                child.send({ rpc, cmd, args });
            }),
        notify: (cmd, args) => {
            child.send({ cmd, args });
        },
        stop: async (graceMs = 15_000) => {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
            await exited;
            clearTimeout(timer);
        }
    };
}

/** Forks a script of dist/scripts as a child; resolves once it sends `{ ready }`, with that value. */
export function forkChild<Ready>(
    name: string,
    script: string,
    args: string[],
    execArgv: string[] = []
): Promise<{ child: Child; ready: Ready }> {
    const entry = path.join(ROOT, 'dist', 'scripts', script);
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
    const child = fork(entry, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
    return new Promise((resolve, reject) => {
        const onMessage = (message: unknown): void => {
            if (typeof message === 'object' && message !== null && 'ready' in message) {
                child.off('message', onMessage);
                child.off('exit', onExit);
                resolve({ child: wrap(name, child), ready: (message as { ready: Ready }).ready });
            }
        };
        const onExit = (code: number | null): void => reject(new Error(`${name} exited with ${code} while starting`));
        child.on('message', onMessage);
        child.once('exit', onExit);
    });
}

export interface BridgeChild extends Child {
    url: string;
    profiled: boolean;
}

/**
 * Starts `count` bridge processes (dist/scripts/bridge-process.js) one after the other (the first one migrates the
 * schema). With --cpu-prof each writes `<name>.cpuprofile` into `profileDir` when it stops.
 */
export async function startBridges(
    count: number,
    options: BridgeProcessOptions,
    bench: BenchOptions,
    profileDir: string | undefined
): Promise<BridgeChild[]> {
    const entry = path.join(ROOT, 'dist', 'scripts', 'bridge-process.js');
    if (!existsSync(entry)) throw new Error('run `npm run build` first');
    const bridges: BridgeChild[] = [];
    for (let i = 0; i < count; i += 1) {
        const name = count === 1 ? 'bridge' : `bridge-${i}`;
        const execArgv = [
            // Memory per handover is measured after a full collection (bench-process-stats' askStats with gc).
            '--expose-gc',
            ...bench.bridgeNodeArgs,
            ...(profileDir === undefined
                ? []
                : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`])
        ];
        const child = fork(entry, [], {
            env: { PATH: process.env['PATH'] ?? '', BRIDGE_PROCESS_OPTIONS: JSON.stringify(options) },
            execArgv,
            stdio: ['ignore', 'pipe', 'inherit', 'ipc']
        });
        const url = await new Promise<string>((resolve, reject) => {
            let out = '';
            child.stdout?.on('data', (chunk: Buffer) => {
                out += chunk.toString('utf8');
                const match = /READY (\S+)/.exec(out);
                if (match?.[1] !== undefined) resolve(match[1]);
            });
            child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
        });
        bridges.push({ ...wrap(name, child), url, profiled: profileDir !== undefined });
    }
    return bridges;
}

/** Registers the children with the monitor under their names. */
export function monitorChildren(monitor: ProcessMonitor, role: MonitoredProcess['role'], children: Child[]): void {
    for (const c of children) {
        const eluUnreliable = 'profiled' in c && c.profiled === true;
        monitor.add({
            name: c.name,
            role,
            pid: c.child.pid!,
            child: c.child,
            ...(eluUnreliable ? { eluUnreliable } : {})
        });
    }
}

/** The bridges' profiles summarised for one window of the run (monotonic µs), as Markdown lines. */
export function profileSections(
    names: readonly string[],
    profileDir: string,
    window: { fromUs: number; toUs: number; phase: string }
): string[] {
    const lines: string[] = [];
    for (const name of names) {
        const file = path.join(profileDir, `${name}.cpuprofile`);
        if (!existsSync(file)) {
            lines.push(`(no profile from ${name}: it did not exit gracefully)`, '');
            continue;
        }
        const summary = summariseProfile(readProfile(file), { window, top: 12 });
        lines.push(...formatProfileSummary(`${name}, ${window.phase}`, summary));
    }
    lines.push(`Profiles: ${profileDir} (\`npm run profile:summary -- <file>\` for the whole run)`, '');
    return lines;
}
