/**
 * "Where the time goes" from a V8 CPU profile (`node --cpu-prof` writes one `.cpuprofile` per process at exit):
 * self time per module or package and the top functions, optionally only for the samples in a time window (the
 * profile's timestamps are the monotonic clock in microseconds, the same as `process.hrtime.bigint() / 1000n` in
 * any process on the machine, so a benchmark can cut out its measured phase).
 *
 * `npm run profile:summary -- <file.cpuprofile> [--top 15] [--from-us <t> --to-us <t>]`, or `summariseProfile`.
 *
 * Native functions (no script URL: `writev`, `hmac digest`, ...) are grouped under the Node module that called them
 * and the first caller outside Node, as "native in node: fs ← sonic-boom", since "native" alone says nothing about
 * whose work it was.
 */
import { readFileSync } from 'node:fs';

export interface CallFrame {
    functionName: string;
    url: string;
    lineNumber: number;
    columnNumber?: number;
    scriptId?: string;
}

export interface ProfileNode {
    id: number;
    callFrame: CallFrame;
    hitCount?: number;
    children?: number[];
}

export interface CpuProfile {
    nodes: ProfileNode[];
    /** µs, monotonic clock */
    startTime: number;
    endTime: number;
    samples?: number[];
    timeDeltas?: number[];
}

export interface ProfileSummary {
    /** Wall time covered by the samples taken into account, ms */
    sampledMs: number;
    /** Sampled time not idle (program, GC and JavaScript), ms */
    busyMs: number;
    idleMs: number;
    gcMs: number;
    byModule: Array<{ module: string; selfMs: number; share: number }>;
    topFunctions: Array<{ name: string; where: string; module: string; selfMs: number; share: number }>;
}

const SPECIAL: Record<string, string> = {
    '(idle)': '(idle)',
    '(program)': '(program: V8 and Node internals outside JavaScript)',
    '(garbage collector)': '(garbage collector)',
    '(root)': '(root)'
};

/** The module or package a script URL belongs to: `pg`, `@jsforce/jsforce-node`, `node: net`, `bridge/store`, ... */
export function moduleOf(url: string): string {
    if (url === '') return '';
    if (url.startsWith('wasm://')) return 'WebAssembly (PGlite, or llhttp: undici parses HTTP in WebAssembly)';
    if (url.startsWith('node:')) {
        const rest = url.slice('node:'.length).replace(/^internal\//, '');
        const parts = rest.split('/');
        // node:internal/deps/undici/undici.js is fetch: name the dependency, not "deps".
        return parts[0] === 'deps' && parts[1] !== undefined ? `node: deps/${parts[1]}` : `node: ${parts[0] ?? rest}`;
    }
    const path = decodeURIComponent(url.replace(/^file:\/\//, ''));
    const nm = path.lastIndexOf('/node_modules/');
    if (nm >= 0) {
        const parts = path.slice(nm + '/node_modules/'.length).split('/');
        return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? path);
    }
    const dist = path.lastIndexOf('/dist/');
    const inProject = dist >= 0 ? path.slice(dist + '/dist/'.length) : path.replace(/^\/+/, '');
    const dirs = inProject
        .split('/')
        .slice(0, -1)
        .filter((part) => part !== 'src');
    return dirs.slice(0, 2).join('/') || inProject;
}

/**
 * Self time per node from the sample stream: sample i lasts until sample i + 1 (the last one until endTime).
 * With a window, only samples whose time falls in [fromUs, toUs) count.
 */
function selfTimes(profile: CpuProfile, window?: { fromUs: number; toUs: number }): Map<number, number> {
    const self = new Map<number, number>();
    const samples = profile.samples ?? [];
    const deltas = profile.timeDeltas ?? [];
    if (samples.length === 0) {
        // Old format: hit counts only; assume the default 1 ms sampling interval.
        for (const node of profile.nodes) self.set(node.id, (node.hitCount ?? 0) * 1000);
        return self;
    }
    let at = profile.startTime;
    const times = samples.map((_, i) => (at += deltas[i] ?? 0));
    for (let i = 0; i < samples.length; i += 1) {
        const t = times[i]!;
        if (window !== undefined && (t < window.fromUs || t >= window.toUs)) continue;
        const until = i + 1 < times.length ? times[i + 1]! : profile.endTime;
        const id = samples[i]!;
        self.set(id, (self.get(id) ?? 0) + Math.max(0, until - t));
    }
    return self;
}

/** A script's path inside its package (`pg/lib/result.js`) or the project (`bridge/src/store/outbox.js`). */
function shortPath(url: string): string {
    const nm = url.lastIndexOf('/node_modules/');
    if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
    const dist = url.lastIndexOf('/dist/');
    return dist >= 0 ? url.slice(dist + '/dist/'.length) : url;
}

export function summariseProfile(
    profile: CpuProfile,
    options: { top?: number; window?: { fromUs: number; toUs: number } } = {}
): ProfileSummary {
    const top = options.top ?? 15;
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    const parent = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
    const moduleCache = new Map<number, string>();
    /** A node's module; a native function takes its nearest JavaScript caller's. */
    const moduleFor = (id: number): string => {
        const cached = moduleCache.get(id);
        if (cached !== undefined) return cached;
        const node = byId.get(id)!;
        const { functionName, url } = node.callFrame;
        let result: string;
        if (SPECIAL[functionName] !== undefined) result = SPECIAL[functionName];
        else if (url !== '') result = moduleOf(url);
        else {
            // The nearest JavaScript caller names the Node module; the nearest caller outside Node names whose work
            // it was (writev on a socket ← pg, a string written to a file ← sonic-boom).
            let up = parent.get(id);
            while (up !== undefined && byId.get(up)!.callFrame.url === '') up = parent.get(up);
            const nodeModule = up === undefined ? '?' : moduleOf(byId.get(up)!.callFrame.url);
            while (up !== undefined && /^node:|^$/.test(byId.get(up)!.callFrame.url)) up = parent.get(up);
            const owner = up === undefined ? undefined : moduleOf(byId.get(up)!.callFrame.url);
            result =
                owner === undefined || owner === nodeModule
                    ? `native in ${nodeModule}`
                    : `native in ${nodeModule} ← ${owner}`;
        }
        moduleCache.set(id, result);
        return result;
    };

    const self = selfTimes(profile, options.window);
    let sampledUs = 0;
    let idleUs = 0;
    let gcUs = 0;
    const modules = new Map<string, number>();
    const functions = new Map<string, { name: string; where: string; module: string; us: number }>();
    for (const [id, us] of self) {
        if (us === 0) continue;
        sampledUs += us;
        const node = byId.get(id)!;
        const { functionName, url, lineNumber } = node.callFrame;
        if (functionName === '(idle)') {
            idleUs += us;
            continue;
        }
        if (functionName === '(garbage collector)') gcUs += us;
        const module = moduleFor(id);
        modules.set(module, (modules.get(module) ?? 0) + us);
        const name = functionName === '' ? '(anonymous)' : functionName;
        const where = url === '' ? '' : `${shortPath(url)}:${lineNumber + 1}`;
        const key = `${name}\u0000${where}\u0000${module}`;
        const entry = functions.get(key) ?? { name, where, module, us: 0 };
        entry.us += us;
        functions.set(key, entry);
    }
    const busyUs = sampledUs - idleUs;
    const share = (us: number): number => (busyUs > 0 ? us / busyUs : 0);
    return {
        sampledMs: sampledUs / 1000,
        busyMs: busyUs / 1000,
        idleMs: idleUs / 1000,
        gcMs: gcUs / 1000,
        byModule: [...modules]
            .sort((a, b) => b[1] - a[1])
            .slice(0, top)
            .map(([module, us]) => ({ module, selfMs: us / 1000, share: share(us) })),
        topFunctions: [...functions.values()]
            .sort((a, b) => b.us - a.us)
            .slice(0, top)
            .map((f) => ({ name: f.name, where: f.where, module: f.module, selfMs: f.us / 1000, share: share(f.us) }))
    };
}

/** The summary as Markdown lines, with a title naming the process and the phase. */
export function formatProfileSummary(title: string, summary: ProfileSummary): string[] {
    const pct = (share: number): string => `${(share * 100).toFixed(1)} %`;
    const busyOfWall = summary.sampledMs > 0 ? summary.busyMs / summary.sampledMs : 0;
    return [
        `Where the time goes: ${title}: ${(summary.sampledMs / 1000).toFixed(1)} s sampled, busy ${(summary.busyMs / 1000).toFixed(1)} s (${pct(busyOfWall)} of the thread), of which GC ${pct(summary.busyMs > 0 ? summary.gcMs / summary.busyMs : 0)}`,
        '',
        '| module or package (self time) | ms | share of busy |',
        '| --- | --- | --- |',
        ...summary.byModule.map((m) => `| ${m.module} | ${m.selfMs.toFixed(0)} | ${pct(m.share)} |`),
        '',
        '| function | where | module | self ms | share of busy |',
        '| --- | --- | --- | --- | --- |',
        ...summary.topFunctions.map(
            (f) => `| ${f.name} | ${f.where} | ${f.module} | ${f.selfMs.toFixed(0)} | ${pct(f.share)} |`
        ),
        ''
    ];
}

export function readProfile(file: string): CpuProfile {
    return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

function cli(args: string[]): void {
    const value = (name: string): string | undefined => {
        const i = args.indexOf(name);
        return i >= 0 ? args[i + 1] : undefined;
    };
    const files = args.filter((arg, i) => !arg.startsWith('--') && !(args[i - 1] ?? '').startsWith('--'));
    if (files.length === 0) {
        console.error('usage: profile-summary <file.cpuprofile>... [--top 15] [--from-us <t> --to-us <t>]');
        process.exit(2);
    }
    const from = value('--from-us');
    const to = value('--to-us');
    for (const file of files) {
        const summary = summariseProfile(readProfile(file), {
            top: Number(value('--top') ?? 15),
            ...(from !== undefined && to !== undefined ? { window: { fromUs: Number(from), toUs: Number(to) } } : {})
        });
        console.log(formatProfileSummary(file, summary).join('\n'));
    }
}

if (require.main === module) cli(process.argv.slice(2));
