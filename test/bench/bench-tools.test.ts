import { fork } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { moduleOf, summariseProfile } from '../../scripts/profile-summary';
import type { CpuProfile } from '../../scripts/profile-summary';
import { askStats, invalidity, procTimes } from '../../scripts/bench-process-stats';
import type { PhaseStats } from '../../scripts/bench-process-stats';

const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0, columnNumber: 0 });

/** root → express handler → pg query → native writev; plus idle and GC. Samples 1 ms apart. */
const profile: CpuProfile = {
    nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2, 3, 6] },
        { id: 2, callFrame: frame('(idle)', '') },
        { id: 3, callFrame: frame('handle', 'file:///app/node_modules/express/lib/router.js'), children: [4] },
        { id: 4, callFrame: frame('query', 'file:///app/node_modules/pg/lib/client.js'), children: [7] },
        { id: 7, callFrame: frame('Socket._writev', 'node:net'), children: [5] },
        { id: 5, callFrame: frame('writev', '') },
        { id: 6, callFrame: frame('(garbage collector)', '') }
    ],
    startTime: 1_000_000,
    endTime: 1_010_000,
    // t = 1 000 000 + 1000 k: idle ×4, express ×1, pg ×2, writev ×2, GC ×1
    samples: [2, 2, 2, 2, 3, 4, 4, 5, 5, 6],
    timeDeltas: [0, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]
};

describe('profile summary', () => {
    it('names modules by package, Node module and project folder', () => {
        expect(moduleOf('file:///w/node_modules/@jsforce/jsforce-node/lib/http-api.js')).toBe('@jsforce/jsforce-node');
        expect(moduleOf('file:///w/node_modules/a/node_modules/pg/lib/client.js')).toBe('pg');
        expect(moduleOf('node:internal/streams/writable')).toBe('node: streams');
        expect(moduleOf('node:internal/deps/undici/undici')).toBe('node: deps/undici');
        expect(moduleOf('file:///w/dist/bridge/src/store/outbox.js')).toBe('bridge/store');
        expect(moduleOf('wasm://wasm/022a9842')).toBe('WebAssembly (PGlite, or llhttp: undici parses HTTP in WebAssembly)');
    });

    it('adds self time per module, leaves idle out of busy, and charges native code to its callers', () => {
        const summary = summariseProfile(profile);
        expect(summary.sampledMs).toBe(10);
        expect(summary.idleMs).toBe(4);
        expect(summary.busyMs).toBe(6);
        expect(summary.gcMs).toBe(1);
        expect(summary.byModule).toEqual([
            { module: 'pg', selfMs: 2, share: 2 / 6 },
            { module: 'native in node: net ← pg', selfMs: 2, share: 2 / 6 },
            { module: 'express', selfMs: 1, share: 1 / 6 },
            { module: '(garbage collector)', selfMs: 1, share: 1 / 6 }
        ]);
        expect(summary.topFunctions[0]).toMatchObject({ name: 'query', where: 'pg/lib/client.js:1', selfMs: 2 });
    });

    it('counts only the samples inside a window', () => {
        const summary = summariseProfile(profile, { window: { fromUs: 1_005_000, toUs: 1_007_000 } });
        expect(summary.sampledMs).toBe(2);
        expect(summary.byModule).toEqual([{ module: 'pg', selfMs: 2, share: 1 }]);
    });
});

describe('process stats', () => {
    it('reads CPU and RSS from /proc and an event-loop utilisation from a child over IPC', async () => {
        const dir = await mkdtemp(path.join(tmpdir(), 'bench-stats-'));
        const script = path.join(dir, 'child.js');
        // A child that answers benchStats like serveBenchStats, busy half the time.
        await writeFile(
            script,
            `const { performance } = require('node:perf_hooks');
             process.on('message', (m) => process.send({ benchStats: m.benchStats, stats: {
                 elu: performance.eventLoopUtilization(), rss: 0, heapUsed: 0 } }));
             setInterval(() => { const end = Date.now() + 10; while (Date.now() < end); }, 20);`
        );
        const child = fork(script, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
        try {
            const first = await askStats(child);
            await new Promise((resolve) => setTimeout(resolve, 500));
            const second = await askStats(child);
            const active = second!.elu.active - first!.elu.active;
            const idle = second!.elu.idle - first!.elu.idle;
            expect(active / (active + idle)).toBeGreaterThan(0.2);
            expect(procTimes(child.pid!)!.rssKb).toBeGreaterThan(1000);
            expect(procTimes(child.pid!)!.ticks).toBeGreaterThan(0);
        } finally {
            child.kill('SIGKILL');
            await rm(dir, { recursive: true, force: true });
        }
        expect(procTimes(2 ** 22 + 12345)).toBeUndefined();
    });

    it('calls a phase invalid when the generator or an emulator is saturated, not when the bridge is', () => {
        const stats: PhaseStats = {
            phase: 'relay',
            seconds: 10,
            cores: 2,
            machineCpuPercent: 150,
            otherCpuPercent: 0,
            rows: [
                { name: 'generator', role: 'generator', cpuPercent: 50, elu: 0.5 },
                { name: 'chat emulator', role: 'emulator', cpuPercent: 90, elu: 0.93 },
                { name: 'bridge', role: 'bridge', cpuPercent: 99, elu: 0.99 }
            ]
        };
        expect(invalidity(stats)).toEqual([
            'chat emulator event loop at 0.93 (> 0.8) with 90 % CPU: busy with its own work'
        ]);
        const starved = { ...stats, rows: [{ ...stats.rows[1]!, cpuPercent: 30 }] };
        expect(invalidity(starved)[0]).toMatch(/with 30 % CPU: mostly waiting for a CPU/);
        expect(invalidity({ ...stats, rows: [stats.rows[0]!, stats.rows[2]!] })).toEqual([]);
    });
});
