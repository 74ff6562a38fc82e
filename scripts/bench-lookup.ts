/**
 * Benchmark of the CRM lookup (issues 4 and 17): `npm run bench:lookup`.
 *
 * Processes (bench-children): this one is the load generator and nothing else; the Salesforce emulator (seeded with
 * BENCH_CONTACTS contacts in four phone formats and a sixth as many leads) runs in one child, the Haptik emulator in
 * another (the bridge needs one; the lookup does not call it), each bridge in its own (configured by sandboxEnv,
 * production logger at `info` writing one line per request to /dev/null). Open loop at a fixed offered rate: request
 * i is due at t0 + i/rate and its latency counts from that moment, so a stall is not hidden by the generator waiting.
 *
 *   noop    GET /services/data on the emulator: the cost of one loopback HTTP round trip from here
 *   direct  the bridge's own SOSL (built by its CrmDirectory) sent straight to the emulator with a token
 *   miss    signed POST /haptik/integrations/customer for identifiers the bridge has not seen
 *   hit     the same route for identifiers it has just looked up (answered from its cache)
 *
 * Added latency: miss − direct (the same Salesforce work, once behind the bridge) and hit − noop. Each scenario
 * reports every process's CPU and event-loop utilisation and says when the generator or emulator was saturated.
 * Options: --db pglite|postgres, --instances N, --cpu-prof (where the bridge's time goes during miss and hit);
 * BENCH_RATE (default 500 lookups/s), BENCH_SECONDS (default 8 per scenario), BENCH_CONTACTS (default 3000),
 * BENCH_BRIDGE_NODE_ARGS, BENCH_WRITE=0 to leave BENCHMARKS.md alone.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeBenchmarkSection } from './bench-report';
import {
    benchDatabase,
    benchOptions,
    forkChild,
    monitorChildren,
    optionFlags,
    profileSections,
    startBridges
} from './bench-children';
import type { Child } from './bench-children';
import { epochNow, fmtMs, httpRequest, monotonicUs, openLoop, p } from './bench-load';
import { ProcessMonitor, formatPhaseMatrix, invalidity } from './bench-process-stats';
import type { PhaseStats } from './bench-process-stats';
import { createCrmDirectory } from '../bridge/src/salesforce/crm-directory';
import type { SalesforceClient } from '../bridge/src/salesforce/salesforce-client';
import { parseSettings } from '../bridge/src/config/mapping-file';
import { signHaptikBody, SIGNATURE_HEADERS } from '../bridge/src/http/signature';
import { integrationRequest, HAPTIK_ROUTE_PATHS } from '../test/emulators/haptik/haptik-sender';
import { sandboxEnv, SANDBOX_CREDENTIALS } from '../test/emulators/sandbox';

const RATE = Number(process.env['BENCH_RATE'] ?? 500);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const CONTACTS = Number(process.env['BENCH_CONTACTS'] ?? 3000);
const HOT_SET = 50;
/** A generator that sends later than this (p99) set the pace itself, or could not get a CPU in time. */
const MAX_SEND_LAG_MS = 5;
const TARGET = { rate: 500, missP99: 5, hitP99: 1 };

interface Request {
    method: string;
    url: string;
    body?: string;
    headers?: Record<string, string>;
}

interface Result {
    name: string;
    sent: number;
    errors: number;
    achieved: number;
    latencies: number[];
    sendLagP99: number;
    stats: PhaseStats;
}

async function token(salesforceUrl: string): Promise<string> {
    const response = await httpRequest(
        'POST',
        `${salesforceUrl}/services/oauth2/token`,
        new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: SANDBOX_CREDENTIALS.sfClientId,
            client_secret: SANDBOX_CREDENTIALS.sfClientSecret
        }).toString(),
        { 'Content-Type': 'application/x-www-form-urlencoded' }
    );
    return (JSON.parse(response.body) as { access_token: string }).access_token;
}

/** The exact SOSL the bridge sends for a phone lookup, captured from its own CrmDirectory. */
async function bridgeSosl(national: string): Promise<string> {
    let captured = '';
    const capture = {
        search: (sosl: string) => {
            captured = sosl;
            return Promise.resolve([]);
        }
    } as unknown as SalesforceClient;
    const rules = parseSettings({}).lookup;
    // The emulated org has no Person Accounts: the bridge detects that and searches Contact and Lead.
    await createCrmDirectory(capture, { personAccounts: 'off' }).find(
        { kind: 'phone', value: national, searchTerm: national },
        rules.objects,
        rules.extraFields
    );
    return captured;
}

function customerRequest(bridgeUrl: string, phone: string, userId: number): Request {
    const body = JSON.stringify(
        integrationRequest({ userId: `bench-${userId}`, authId: '', userDetails: { phone: `+1 ${phone}` } })
    );
    return {
        method: 'POST',
        url: `${bridgeUrl}${HAPTIK_ROUTE_PATHS.customer}`,
        headers: { [SIGNATURE_HEADERS.sha1]: signHaptikBody(SANDBOX_CREDENTIALS.webhookSecret, body, 'sha1') },
        body
    };
}

/** Open loop at `rate` for `seconds`; latency counts from each request's due time. */
async function run(
    name: string,
    request: (i: number) => Request,
    monitor?: ProcessMonitor
): Promise<Omit<Result, 'stats'> & { stats?: PhaseStats }> {
    const total = Math.round(RATE * (monitor === undefined ? 2 : SECONDS));
    const latencies: number[] = [];
    let errors = 0;
    await monitor?.start(name);
    const loop = await openLoop(total, RATE, async (i, due) => {
        const r = request(i);
        try {
            const answer = await httpRequest(r.method, r.url, r.body, r.headers);
            if (answer.status >= 300) errors += 1;
        } catch {
            errors += 1;
        }
        latencies.push(epochNow() - due);
    });
    const stats = await monitor?.stop();
    return {
        name,
        sent: total,
        errors,
        achieved: (total / loop.elapsedMs) * 1000,
        latencies,
        sendLagP99: p(loop.sendLag).p99,
        ...(stats === undefined ? {} : { stats })
    };
}

function table(results: Result[]): string[] {
    return [
        '| scenario | offered/s | requests | errors | achieved/s | generator lag p99 | p50 | p99 | max |',
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
        ...results.map((r) => {
            const x = p(r.latencies);
            return `| ${r.name} | ${RATE} | ${r.sent} | ${r.errors} | ${r.achieved.toFixed(0)} | ${fmtMs(r.sendLagP99)} | ${fmtMs(x.p50)} | ${fmtMs(x.p99)} | ${fmtMs(x.max)} |`;
        })
    ];
}

async function main(): Promise<void> {
    const bench = benchOptions();
    const database = await benchDatabase(bench, 'lookup');
    const profileDir = bench.cpuProf ? await mkdtemp(path.join(os.tmpdir(), 'bench-lookup-prof-')) : undefined;
    const children: Child[] = [];
    const windows: Array<{ fromUs: number; toUs: number; phase: string }> = [];
    const bridgeNames: string[] = [];
    const lines: string[] = [];
    try {
        const sf = await forkChild<{ url: string; phones: string[] }>(
            'emulator: Salesforce',
            'bench-emulator-process.js',
            ['salesforce', JSON.stringify({ seedLookup: CONTACTS })]
        );
        children.push(sf.child);
        const haptik = await forkChild<{ url: string }>('emulator: Haptik (idle)', 'bench-emulator-process.js', [
            'haptik'
        ]);
        children.push(haptik.child);
        const bridges = await startBridges(
            bench.instances,
            {
                env: { ...sandboxEnv(sf.ready.url, haptik.ready.url), ...database.env },
                ...(database.schema === undefined ? {} : { databaseSchema: database.schema }),
                logLevel: 'info',
                logFile: '/dev/null'
            },
            bench,
            profileDir
        );
        children.push(...bridges);
        bridgeNames.push(...bridges.map((b) => b.name));
        let next = 0;
        const bridgeUrl = (): string => bridges[next++ % bridges.length]!.url;
        const monitor = new ProcessMonitor(database.postgresProcesses);
        monitor.add({ name: 'load generator (this process)', role: 'generator', pid: process.pid, self: true });
        monitorChildren(monitor, 'emulator', [sf.child, haptik.child]);
        monitorChildren(monitor, 'bridge', bridges);

        const salesforceUrl = sf.ready.url;
        const bearer = `Bearer ${await token(salesforceUrl)}`;
        const phones = sf.ready.phones;
        const perRun = Math.round(RATE * SECONDS);
        // Misses look up each seeded contact once (found), then numbers nobody has (not found: the same search).
        const unknown = (area: string, i: number): string => `${area}${String(1_000_000 + i).slice(1)}`;
        const seededForMiss = phones.length - HOT_SET;
        const missPhones = Array.from({ length: perRun }, (_, i) =>
            i < seededForMiss ? (phones[i] ?? '') : unknown('212', i)
        );
        const hotPhones = Array.from(
            { length: HOT_SET },
            (_, i) => phones[(phones.length - HOT_SET + i) % phones.length] ?? ''
        );
        const direct = await Promise.all(missPhones.map(bridgeSosl));

        const scenarios: Record<'noop' | 'direct' | 'miss' | 'hit', [string, (i: number) => Request]> = {
            noop: [
                'noop: emulator GET /services/data',
                () => ({ method: 'GET', url: `${salesforceUrl}/services/data` })
            ],
            direct: [
                'direct: same SOSL straight to the emulator',
                (i) => ({
                    method: 'GET',
                    url: `${salesforceUrl}/services/data/v64.0/search?q=${encodeURIComponent(direct[i % direct.length] ?? '')}`,
                    headers: { Authorization: bearer }
                })
            ],
            miss: ['miss: bridge lookup, new identifier', (i) => customerRequest(bridgeUrl(), missPhones[i] ?? '', i)],
            hit: [
                'hit: bridge lookup, cached identifier',
                (i) => customerRequest(bridgeUrl(), hotPhones[i % HOT_SET] ?? '', i)
            ]
        };

        // Warm-up (JIT, connection pools, token, person-account probe, the hot set in every bridge's cache).
        for (let round = 0; round < bridges.length; round += 1) {
            for (const [i, phone] of hotPhones.entries()) {
                const r = customerRequest(bridgeUrl(), phone, 100_000 + i);
                await httpRequest(r.method, r.url, r.body, r.headers);
            }
        }
        await run('warm-up', (i) => customerRequest(bridgeUrl(), unknown('646', i), 100_000 + i));
        await run('warm-up', scenarios.direct[1]);
        await run('warm-up', scenarios.noop[1]);

        const searchCount = async (): Promise<number> =>
            (await sf.child.call<{ byKind: Record<string, number> }>('apiCalls')).byKind['search'] ?? 0;
        const results: Result[] = [];
        let searches = 0;
        for (const key of ['noop', 'direct', 'miss', 'hit'] as const) {
            const before = await searchCount();
            const fromUs = monotonicUs();
            const [name, request] = scenarios[key];
            results.push((await run(name, request, monitor)) as Result);
            if (key === 'miss' || key === 'hit') {
                windows.push({ fromUs, toUs: monotonicUs(), phase: `${key} (${SECONDS} s at ${RATE}/s)` });
                searches += (await searchCount()) - before;
            }
        }

        const [noop, directResult, miss, hit] = results as [Result, Result, Result, Result];
        const addedP99 = (a: Result, b: Result): number => p(a.latencies).p99 - p(b.latencies).p99;
        const addedP50 = (a: Result, b: Result): number => p(a.latencies).p50 - p(b.latencies).p50;
        const reasons = (...rs: Result[]): string[] =>
            rs.flatMap((r) => [
                ...invalidity(r.stats).map((x) => `${r.name}: ${x}`),
                ...(r.sendLagP99 > MAX_SEND_LAG_MS
                    ? [`${r.name}: the generator sent p99 ${fmtMs(r.sendLagP99)} late (> ${MAX_SEND_LAG_MS} ms)`]
                    : [])
            ]);
        const atLoad = RATE >= TARGET.rate ? '' : ` (at ${RATE}/s, not the target's ${TARGET.rate}/s)`;
        const judged = (ok: boolean, why: string[]): string =>
            (why.length === 0 ? (ok ? 'met' : '**NOT met**') : `not judged: ${why.join('; ')}`) + atLoad;
        const missWhy = reasons(miss, directResult);
        const hitWhy = reasons(hit, noop);
        lines.push(
            `Date: ${new Date().toISOString()}; ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'cpu'}), node ${process.version}; load average at start ${os
                .loadavg()
                .map((x) => x.toFixed(1))
                .join(' ')}`,
            `Database: ${database.label}; bridge instances: ${bench.instances}; data: ${CONTACTS} contacts and ${Math.floor(CONTACTS / 6)} leads; ${SECONDS} s per scenario, open loop`,
            '',
            ...table(results),
            '',
            `- added latency on a miss (miss − direct): p50 ${fmtMs(addedP50(miss, directResult))}, p99 ${fmtMs(addedP99(miss, directResult))}`,
            `- added latency on a hit (hit − noop): p50 ${fmtMs(addedP50(hit, noop))}, p99 ${fmtMs(addedP99(hit, noop))}`,
            `- Salesforce searches made by the bridge during miss and hit: ${searches} (expected ${perRun}: one per miss, none per hit)`,
            '',
            '### Targets (issue 17)',
            '',
            '| measure | target | this run | verdict |',
            '| --- | --- | --- | --- |',
            `| lookup miss, added p99 | ≤ ${TARGET.missP99} ms at ${TARGET.rate}/s | ${fmtMs(addedP99(miss, directResult))} | ${judged(addedP99(miss, directResult) <= TARGET.missP99 && miss.errors === 0, missWhy)} |`,
            `| lookup hit, added p99 | ≤ ${TARGET.hitP99} ms at ${TARGET.rate}/s | ${fmtMs(addedP99(hit, noop))} | ${judged(addedP99(hit, noop) <= TARGET.hitP99 && hit.errors === 0, hitWhy)} |`,
            '',
            '### Processes per scenario',
            '',
            ...formatPhaseMatrix(results.map((r) => r.stats))
        );
        console.log(lines.join('\n'));
    } finally {
        for (const child of children.reverse()) await child.stop();
        await database.close();
    }
    if (profileDir !== undefined) {
        const profile = windows.flatMap((window) => profileSections(bridgeNames, profileDir, window));
        lines.push('### Where the time goes', '', ...profile);
        console.log(profile.join('\n'));
    }
    if (bench.write) {
        const command = `BENCH_RATE=${RATE} BENCH_SECONDS=${SECONDS} BENCH_CONTACTS=${CONTACTS} npm run bench:lookup -- ${optionFlags(bench).join(' ')}`;
        writeBenchmarkSection(
            `lookup:${bench.db}:i${bench.instances}:${RATE}`,
            [`Command: \`${command}\``, '', ...lines].join('\n'),
            `### CRM lookup at ${RATE} lookups/s, ${bench.db}, ${bench.instances} instance(s)`
        );
    }
}

main().then(
    () => process.exit(0),
    (error: unknown) => {
        console.error(error);
        process.exit(1);
    }
);
