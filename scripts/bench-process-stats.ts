/**
 * Per-process figures for the benchmarks, so a report can say whether the limit was the bridge, PostgreSQL or the
 * benchmark's own processes (load generator, emulators).
 *
 * - CPU of any process comes from /proc/<pid>/stat (user + system ticks), as a share of one core.
 * - Event-loop utilisation (ELU: the share of wall time the loop was busy, not waiting for I/O) is Node's
 *   `performance.eventLoopUtilization()`; each Node child answers a `benchStats` IPC request with its cumulative
 *   figures (`serveBenchStats`), and the monitor takes differences. A loop near 1 cannot take more work in time, so
 *   a generator or emulator above ~0.8 makes its run invalid for judging the bridge.
 * - PostgreSQL's server processes are found by `pg_stat_activity`: the backends of the bridges' connections (they
 *   connect with an `application_name` the benchmark chooses) and the server's background processes (checkpointer,
 *   WAL writer, ...: shared with whatever else uses that server).
 * - The whole machine's busy time from /proc/stat, so "other load" (other people's tests) shows up in the report.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { EventLoopUtilization } from 'node:perf_hooks';

/** Clock ticks per second of /proc (USER_HZ; 100 on every Linux this runs on). */
const USER_HZ = 100;

/** What a Node process reports about itself. */
export interface NodeSelfStats {
    elu: EventLoopUtilization;
    rss: number;
    heapUsed: number;
    /** Database statements sent so far (BEGIN and COMMIT included), where the process counts them. */
    dbStatements?: number;
    /** The same by statement (its text, whitespace folded, cut at 100 characters): what a phase's work is. */
    dbStatementKinds?: Record<string, number>;
}

export function nodeSelfStats(): NodeSelfStats {
    const memory = process.memoryUsage();
    return { elu: performance.eventLoopUtilization(), rss: memory.rss, heapUsed: memory.heapUsed };
}

/**
 * In a Node child forked with an IPC channel: answers `{ benchStats: id }` with `{ benchStats: id, stats }`.
 * Exits when the parent goes away. Does nothing without an IPC channel (a bridge process started by a test with
 * plain pipes).
 */
export function serveBenchStats(extra: () => Partial<NodeSelfStats> = () => ({})): void {
    if (process.send === undefined) return;
    process.on('message', (message: unknown) => {
        if (typeof message === 'object' && message !== null && 'benchStats' in message) {
            const { benchStats, gc } = message as { benchStats: number; gc?: boolean };
            // With --expose-gc, a memory measurement can start from a collected heap (start-up garbage freed).
            if (gc === true) (globalThis as { gc?: () => void }).gc?.();
            process.send?.({ benchStats, stats: { ...nodeSelfStats(), ...extra() } });
        }
    });
    // A benchmark that dies must not leave its children running.
    process.once('disconnect', () => process.exit(0));
}

let askSeq = 0;

/**
 * Asks a child for its NodeSelfStats, after a full garbage collection with `gc` (if the child runs with
 * --expose-gc); undefined when it does not answer within `timeoutMs` (busy or gone).
 */
export function askStats(child: ChildProcess, timeoutMs = 5000, gc = false): Promise<NodeSelfStats | undefined> {
    if (!child.connected) return Promise.resolve(undefined);
    const id = (askSeq += 1);
    return new Promise((resolve) => {
        const done = (stats: NodeSelfStats | undefined): void => {
            clearTimeout(timer);
            child.off('message', listener);
            resolve(stats);
        };
        const listener = (message: unknown): void => {
            if (
                typeof message === 'object' &&
                message !== null &&
                (message as { benchStats?: number }).benchStats === id
            )
                done((message as { stats: NodeSelfStats }).stats);
        };
        const timer = setTimeout(() => done(undefined), timeoutMs);
        child.on('message', listener);
        child.send({ benchStats: id, ...(gc ? { gc } : {}) }, (error) => {
            if (error) done(undefined);
        });
    });
}

export interface ProcTimes {
    /** user + system CPU, in ticks */
    ticks: number;
    rssKb: number;
}

/** CPU ticks and RSS of a process, or undefined once it is gone. */
export function procTimes(pid: number): ProcTimes | undefined {
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        // The command name may contain spaces and parentheses: fields start after the last ')'.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const rssPages = Number(fields[21]);
        return { ticks: Number(fields[11]) + Number(fields[12]), rssKb: (rssPages * 4096) / 1024 };
    } catch {
        return undefined;
    }
}

/** Busy and total ticks of the whole machine (all cores). */
export function machineTimes(): { busy: number; total: number } {
    try {
        const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
        const values = line.trim().split(/\s+/).slice(1).map(Number);
        // user nice system idle iowait irq softirq steal (guest time is already in user)
        const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
        const idle = (values[3] ?? 0) + (values[4] ?? 0);
        return { busy: total - idle, total };
    } catch {
        return { busy: 0, total: 0 };
    }
}

/** A process the monitor follows: a Node child (ELU over IPC), this process, or a plain pid. */
export interface MonitoredProcess {
    name: string;
    /** generator and emulators: a saturated one makes the run invalid for judging the bridge */
    role: 'generator' | 'emulator' | 'bridge' | 'database';
    pid: number;
    child?: ChildProcess;
    /** this process (the generator): ELU read directly */
    self?: boolean;
    /**
     * Its ELU means nothing: under --cpu-prof the profiler's signals cut every wait of the event loop short, so an
     * idle loop reads as ~0.8 busy. CPU from /proc is still right.
     */
    eluUnreliable?: boolean;
}

/** Lists the PostgreSQL server processes to follow: the bridges' backends and the background processes. */
export type PostgresProcessLister = () => Promise<Array<{ pid: number; kind: 'backend' | 'background' }>>;

interface ProcessSnapshot {
    ticks: number;
    rssKb: number;
    node?: NodeSelfStats;
}

interface Snapshot {
    at: number;
    machine: { busy: number; total: number };
    processes: Map<string, ProcessSnapshot | undefined>;
    postgres: Map<number, { kind: 'backend' | 'background'; ticks: number }>;
}

/** One process's figures over a phase. */
export interface ProcessPhaseRow {
    name: string;
    role: MonitoredProcess['role'];
    /** CPU as % of one core */
    cpuPercent: number;
    /** ELU over the phase (undefined: not a Node process, or it did not answer) */
    elu?: number;
    /** Highest ELU of one sampling interval in the phase */
    eluPeak?: number;
    rssMb?: number;
    heapUsedMb?: number;
    /** e.g. how many PostgreSQL backends, or why there is no ELU */
    note?: string;
}

export interface PhaseStats {
    phase: string;
    seconds: number;
    rows: ProcessPhaseRow[];
    /** Whole machine, % of one core (so up to cores × 100) */
    machineCpuPercent: number;
    /** Machine busy time not spent in the processes above: other users of the machine */
    otherCpuPercent: number;
    cores: number;
}

/** Above this ELU a generator or emulator cannot keep time: the run says nothing certain about the bridge. */
export const SATURATED_ELU = 0.8;

function eluBetween(a: EventLoopUtilization, b: EventLoopUtilization): number {
    const active = b.active - a.active;
    const idle = b.idle - a.idle;
    return active + idle > 0 ? active / (active + idle) : 0;
}

/**
 * Follows a set of processes through named phases: `start(phase)` then `stop()` gives each process's CPU and ELU
 * over the phase, with the peak ELU over `sampleMs` intervals.
 */
export class ProcessMonitor {
    private readonly processes: MonitoredProcess[] = [];
    private started: { phase: string; snapshot: Snapshot; samples: Snapshot[]; timer?: NodeJS.Timeout } | undefined;

    constructor(
        private readonly postgres?: PostgresProcessLister,
        private readonly sampleMs = 1000
    ) {}

    add(process: MonitoredProcess): void {
        this.processes.push(process);
    }

    private async snapshot(): Promise<Snapshot> {
        const [nodes, pg] = await Promise.all([
            Promise.all(
                this.processes.map(async (p) =>
                    p.self ? nodeSelfStats() : p.child === undefined ? undefined : askStats(p.child)
                )
            ),
            this.postgres?.().catch(() => []) ?? Promise.resolve([])
        ]);
        const processes = new Map<string, ProcessSnapshot | undefined>();
        this.processes.forEach((p, i) => {
            const times = procTimes(p.pid);
            const node = nodes[i];
            processes.set(p.name, times === undefined ? undefined : { ...times, ...(node ? { node } : {}) });
        });
        const postgres = new Map<number, { kind: 'backend' | 'background'; ticks: number }>();
        for (const { pid, kind } of pg) {
            const times = procTimes(pid);
            if (times !== undefined) postgres.set(pid, { kind, ticks: times.ticks });
        }
        return { at: performance.now(), machine: machineTimes(), processes, postgres };
    }

    async start(phase: string): Promise<void> {
        const snapshot = await this.snapshot();
        const started: NonNullable<ProcessMonitor['started']> = { phase, snapshot, samples: [snapshot] };
        this.started = started;
        let sampling = false;
        started.timer = setInterval(() => {
            if (sampling) return;
            sampling = true;
            void this.snapshot()
                .then((s) => started.samples.push(s))
                .finally(() => {
                    sampling = false;
                });
        }, this.sampleMs);
    }

    async stop(): Promise<PhaseStats> {
        const started = this.started;
        if (started === undefined) throw new Error('ProcessMonitor.stop() without start()');
        clearInterval(started.timer);
        this.started = undefined;
        const end = await this.snapshot();
        const samples = [...started.samples, end];
        const first = started.snapshot;
        const seconds = (end.at - first.at) / 1000;
        const perCore = (ticks: number): number => (seconds > 0 ? (ticks / USER_HZ / seconds) * 100 : 0);
        const rows: ProcessPhaseRow[] = this.processes.map((p) => {
            const a = first.processes.get(p.name);
            const b = end.processes.get(p.name);
            const row: ProcessPhaseRow = {
                name: p.name,
                role: p.role,
                cpuPercent: a && b ? perCore(b.ticks - a.ticks) : Number.NaN
            };
            if (b) row.rssMb = b.rssKb / 1024;
            if (b?.node) row.heapUsedMb = b.node.heapUsed / 1024 / 1024;
            if (p.eluUnreliable) row.note = 'ELU not measurable under --cpu-prof';
            else if (a?.node && b?.node) row.elu = eluBetween(a.node.elu, b.node.elu);
            let peak: number | undefined;
            for (let i = 1; i < samples.length; i += 1) {
                const x = samples[i - 1]?.processes.get(p.name)?.node;
                const y = samples[i]?.processes.get(p.name)?.node;
                if (x && y && !p.eluUnreliable) peak = Math.max(peak ?? 0, eluBetween(x.elu, y.elu));
            }
            if (peak !== undefined) row.eluPeak = peak;
            return row;
        });
        if (this.postgres !== undefined) {
            // A backend that appeared during the phase counts from zero; one that ended is missed (pools keep theirs).
            for (const kind of ['backend', 'background'] as const) {
                let ticks = 0;
                let count = 0;
                for (const [pid, b] of end.postgres) {
                    if (b.kind !== kind) continue;
                    count += 1;
                    ticks += b.ticks - (first.postgres.get(pid)?.ticks ?? 0);
                }
                rows.push({
                    name: kind === 'backend' ? 'postgres: bridge backends' : 'postgres: background (whole server)',
                    role: 'database',
                    cpuPercent: perCore(ticks),
                    note: `${count} processes`
                });
            }
        }
        const machineCpuPercent =
            end.machine.total > first.machine.total
                ? ((end.machine.busy - first.machine.busy) / (end.machine.total - first.machine.total)) *
                  100 *
                  os.cpus().length
                : Number.NaN;
        const ours = rows.reduce((sum, r) => sum + (Number.isFinite(r.cpuPercent) ? r.cpuPercent : 0), 0);
        return {
            phase: started.phase,
            seconds,
            rows,
            machineCpuPercent,
            otherCpuPercent: Math.max(0, machineCpuPercent - ours),
            cores: os.cpus().length
        };
    }
}

/**
 * Why a phase says nothing certain about the bridge: a saturated generator or emulator (empty: valid). ELU counts
 * wall time, so a loop can also read busy while it waits for a CPU on an oversubscribed machine: a CPU share far
 * below the ELU says so.
 */
export function invalidity(stats: PhaseStats): string[] {
    return stats.rows
        .filter((r) => (r.role === 'generator' || r.role === 'emulator') && (r.elu ?? 0) > SATURATED_ELU)
        .map((r) => {
            const starved = r.cpuPercent / 100 < r.elu! * 0.6;
            return `${r.name} event loop at ${r.elu!.toFixed(2)} (> ${SATURATED_ELU}) with ${pct(r.cpuPercent)} CPU${starved ? ': mostly waiting for a CPU (machine oversubscribed)' : ': busy with its own work'}`;
        });
}

const pct = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(0)} %` : 'n/a');
const elu = (row: ProcessPhaseRow): string =>
    row.elu === undefined
        ? (row.note ?? '—')
        : `${row.elu.toFixed(2)} (peak ${(row.eluPeak ?? row.elu).toFixed(2)})${row.note === undefined ? '' : `; ${row.note}`}`;

/** A Markdown table of one phase: per process CPU, ELU and memory, then the machine and the verdict. */
export function formatPhase(stats: PhaseStats): string[] {
    const lines = [
        `Processes during "${stats.phase}" (${stats.seconds.toFixed(1)} s):`,
        '',
        '| process | CPU (% of one core) | event loop utilisation (peak over 1 s) | RSS MB | heap used MB |',
        '| --- | --- | --- | --- | --- |',
        ...stats.rows.map(
            (r) =>
                `| ${r.name} | ${pct(r.cpuPercent)} | ${elu(r)} | ${r.rssMb === undefined ? '—' : r.rssMb.toFixed(0)} | ${r.heapUsedMb === undefined ? '—' : r.heapUsedMb.toFixed(0)} |`
        ),
        `| whole machine (${stats.cores} cores = ${stats.cores * 100} %) | ${pct(stats.machineCpuPercent)} (not ours: ${pct(stats.otherCpuPercent)}) | | | |`,
        ''
    ];
    if (stats.machineCpuPercent > stats.cores * 100 * 0.95) {
        lines.push(
            `Machine saturated (${pct(stats.machineCpuPercent)} of ${stats.cores * 100} %, ${pct(stats.otherCpuPercent)} not this run's): latencies include waiting for a CPU.`,
            ''
        );
    }
    for (const r of stats.rows) {
        if (r.role === 'bridge' && (r.elu ?? 0) > SATURATED_ELU && r.cpuPercent / 100 < r.elu! * 0.6) {
            lines.push(
                `${r.name}: event loop busy ${r.elu!.toFixed(2)} on ${pct(r.cpuPercent)} CPU: much of that time it waited for a CPU (or in blocking calls), not computing.`,
                ''
            );
        }
    }
    const reasons = invalidity(stats);
    if (reasons.length > 0) {
        lines.push(`**Not valid for judging the bridge:** ${reasons.join('; ')}.`, '');
    }
    return lines;
}

/** All phases side by side: per process "CPU % / ELU", then the machine's busy time and each phase's validity. */
export function formatPhaseMatrix(phases: readonly PhaseStats[]): string[] {
    if (phases.length === 0) return [];
    const names = phases[0]!.rows.map((r) => r.name);
    const cell = (stats: PhaseStats, name: string): string => {
        const row = stats.rows.find((r) => r.name === name);
        if (row === undefined) return '';
        return row.elu === undefined ? pct(row.cpuPercent) : `${pct(row.cpuPercent)} / ${row.elu.toFixed(2)}`;
    };
    const header = ['process (CPU % of one core / event loop utilisation)', ...phases.map((s) => s.phase)];
    return [
        `| ${header.join(' | ')} |`,
        `| ${header.map(() => '---').join(' | ')} |`,
        ...names.map((name) => `| ${name} | ${phases.map((s) => cell(s, name)).join(' | ')} |`),
        `| whole machine (not ours) | ${phases.map((s) => `${pct(s.machineCpuPercent)} (${pct(s.otherCpuPercent)})`).join(' | ')} |`,
        `| phase length | ${phases.map((s) => `${s.seconds.toFixed(1)} s`).join(' | ')} |`,
        `| generator and emulators keep up (ELU ≤ ${SATURATED_ELU}) | ${phases.map((s) => (invalidity(s).length === 0 ? 'yes' : `**no**: ${invalidity(s).join('; ')}`)).join(' | ')} |`,
        `| machine saturated (≥ 95 % of all cores busy) | ${phases.map((s) => (s.machineCpuPercent >= s.cores * 95 ? '**yes**' : 'no')).join(' | ')} |`,
        ''
    ];
}
