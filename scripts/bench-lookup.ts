/**
 * Benchmark of the CRM lookup (issue 4): `npm run bench:lookup`.
 *
 * One run starts the sandbox's parts (the Salesforce emulator seeded with a few thousand contacts and
 * leads in one child process; the Haptik emulator and a real bridge configured by sandboxEnv, with the
 * production logger at `info`, in another) and drives them from this process at a fixed offered rate (open loop: request i is due at t0 + i/rate and
 * its latency counts from that moment, so a stall is not hidden by the generator waiting for it):
 *
 *   noop    GET /services/data on the emulator: the cost of one loopback HTTP round trip from here
 *   direct  the bridge's own SOSL (built by its CrmDirectory) sent straight to the emulator with a token
 *   miss    signed POST /haptik/integrations/customer for identifiers the bridge has not seen
 *   hit     the same route for identifiers it has just looked up (answered from its cache)
 *
 * Added latency: miss − direct (the same Salesforce work, once behind the bridge) and hit − noop.
 * Options: BENCH_RATE (default 500 lookups/s), BENCH_SECONDS (default 8 per scenario),
 * BENCH_CONTACTS (default 3000), BENCH_WRITE=0 to leave BENCHMARKS.md alone.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { writeBenchmarkSection } from './bench-report';
import { createLogger } from '../bridge/src/observability/logger';
import { createCrmDirectory } from '../bridge/src/salesforce/crm-directory';
import type { SalesforceClient } from '../bridge/src/salesforce/salesforce-client';
import { parseSettings } from '../bridge/src/config/mapping-file';
import { signHaptikBody, SIGNATURE_HEADERS } from '../bridge/src/http/signature';
import { loadConfig } from '../bridge/src/config/env';
import { startBridge } from '../bridge/src/bridge';
import { createMetrics } from '../bridge/src/observability/metrics';
import { integrationRequest, HAPTIK_ROUTE_PATHS } from '../test/emulators/haptik/haptik-sender';
import { startHaptikEmulator } from '../test/emulators/haptik';
import { startSalesforceEmulator } from '../test/emulators/salesforce';
import { sandboxEnv, SANDBOX_CREDENTIALS } from '../test/emulators/sandbox';

const RATE = Number(process.env['BENCH_RATE'] ?? 500);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const CONTACTS = Number(process.env['BENCH_CONTACTS'] ?? 3000);
const HOT_SET = 50;

// ---------------------------------------------------------------- child: the sandbox

/** Phone i in one of the formats people type; all national numbers are distinct. */
function seededPhone(i: number): { stored: string; national: string } {
    const national = `415${String(1_000_000 + i).slice(1)}`;
    const [a, b, c] = [national.slice(0, 3), national.slice(3, 6), national.slice(6)];
    const formats = [`(${a}) ${b}-${c}`, `+1 ${a} ${b} ${c}`, national, `${a}.${b}.${c}`];
    return { stored: formats[i % formats.length] ?? national, national };
}

/** Child 1: the Salesforce emulator, seeded. */
async function serveSalesforce(): Promise<void> {
    const c = SANDBOX_CREDENTIALS;
    const salesforce = await startSalesforceEmulator({
        clientId: c.sfClientId,
        clientSecret: c.sfClientSecret,
        orgId: c.sfOrgId
    });
    const phones: string[] = [];
    for (let i = 0; i < CONTACTS; i++) {
        const { stored, national } = seededPhone(i);
        phones.push(national);
        salesforce.insert('Contact', {
            FirstName: `First${i}`,
            LastName: `Last${i}`,
            Email: `person${i}@bench.example`,
            [i % 2 === 0 ? 'Phone' : 'MobilePhone']: stored
        });
    }
    for (let i = 0; i < CONTACTS / 6; i++) {
        salesforce.insert('Lead', {
            LastName: `Lead${i}`,
            Company: `Company ${i}`,
            Email: `lead${i}@bench.example`,
            Phone: `+1 650 555 ${String(1000 + i).slice(-4)}`
        });
    }
    process.send?.({ ready: { url: salesforce.url, phones } });
    process.on('message', (message: { stop?: boolean; counters?: boolean }) => {
        if (message.counters) process.send?.({ counters: salesforce.apiCalls });
        if (message.stop) void salesforce.close().then(() => process.exit(0));
    });
}

/**
 * Child 2: the bridge as the sandbox configures it (sandboxEnv, embedded database), with the production
 * logger at info writing one line per request (to /dev/null rather than a terminal).
 */
async function serveBridge(salesforceUrl: string): Promise<void> {
    const c = SANDBOX_CREDENTIALS;
    const haptik = await startHaptikEmulator({
        clientId: c.haptikClientId,
        apiToken: c.haptikApiToken,
        businessId: c.haptikBusinessId
    });
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-lookup-'));
    const bridge = await startBridge({
        config: loadConfig({ ...sandboxEnv(salesforceUrl, haptik.url), BRIDGE_DATA_DIR: dataDir }),
        settings: parseSettings({}),
        logger: createLogger({ level: 'info', destination: pino.destination({ dest: '/dev/null', sync: false }) }),
        metrics: createMetrics(),
        host: '127.0.0.1'
    });
    process.send?.({ ready: { url: bridge.url } });
    process.on('message', (message: { stop?: boolean }) => {
        if (message.stop) {
            void (async () => {
                await bridge.stop();
                await haptik.close();
                await rm(dataDir, { recursive: true, force: true });
                process.exit(0);
            })();
        }
    });
}

// ---------------------------------------------------------------- parent: the load generator

interface Scenario {
    name: string;
    /** Builds request i. */
    request: (i: number) => { url: string; init: RequestInit };
}

interface Result {
    name: string;
    sent: number;
    errors: number;
    achieved: number;
    p50: number;
    p99: number;
    max: number;
}

function percentile(sorted: number[], p: number): number {
    if (sorted.length === 0) return NaN;
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** Open loop at `rate` for `seconds`; latency counts from each request's due time. */
async function run(scenario: Scenario, rate: number, seconds: number): Promise<Result> {
    const total = Math.round(rate * seconds);
    const latencies: number[] = [];
    let errors = 0;
    let lastDone = 0;
    const pending: Array<Promise<void>> = [];
    const t0 = performance.now() + 20;
    let next = 0;
    await new Promise<void>((resolve) => {
        const tick = (): void => {
            const now = performance.now();
            while (next < total && t0 + (next * 1000) / rate <= now) {
                const due = t0 + (next * 1000) / rate;
                const { url, init } = scenario.request(next);
                next += 1;
                pending.push(
                    fetch(url, init)
                        .then(async (response) => {
                            await response.arrayBuffer();
                            if (!response.ok) errors += 1;
                        })
                        .catch(() => {
                            errors += 1;
                        })
                        .finally(() => {
                            const done = performance.now();
                            latencies.push(done - due);
                            lastDone = Math.max(lastDone, done);
                        })
                );
            }
            if (next >= total) resolve();
            else setTimeout(tick, Math.max(0, Math.min(2, t0 + (next * 1000) / rate - performance.now())));
        };
        setTimeout(tick, 20);
    });
    await Promise.all(pending);
    latencies.sort((a, b) => a - b);
    return {
        name: scenario.name,
        sent: total,
        errors,
        achieved: total / ((lastDone - t0) / 1000),
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        max: latencies[latencies.length - 1] ?? NaN
    };
}

async function token(salesforceUrl: string): Promise<string> {
    const response = await fetch(`${salesforceUrl}/services/oauth2/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: SANDBOX_CREDENTIALS.sfClientId,
            client_secret: SANDBOX_CREDENTIALS.sfClientSecret
        }).toString()
    });
    return ((await response.json()) as { access_token: string }).access_token;
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

function customerRequest(bridgeUrl: string, phone: string, userId: number): { url: string; init: RequestInit } {
    const body = JSON.stringify(
        integrationRequest({ userId: `bench-${userId}`, authId: '', userDetails: { phone: `+1 ${phone}` } })
    );
    return {
        url: `${bridgeUrl}${HAPTIK_ROUTE_PATHS.customer}`,
        init: {
            method: 'POST',
            headers: {
                'Content-Type': 'application/json',
                [SIGNATURE_HEADERS.sha1]: signHaptikBody(SANDBOX_CREDENTIALS.webhookSecret, body, 'sha1')
            },
            body
        }
    };
}

function ask<T>(child: ChildProcess, message: object, key: string): Promise<T> {
    return new Promise((resolve) => {
        const listener = (reply: Record<string, unknown>): void => {
            if (key in reply) {
                child.off('message', listener);
                resolve(reply[key] as T);
            }
        };
        child.on('message', listener);
        child.send(message);
    });
}

const ms = (value: number): string => value.toFixed(2);

function table(results: Result[]): string {
    const rows = results.map((r) => [
        r.name,
        String(RATE),
        String(r.sent),
        String(r.errors),
        r.achieved.toFixed(0),
        ms(r.p50),
        ms(r.p99),
        ms(r.max)
    ]);
    const header = ['scenario', 'offered/s', 'requests', 'errors', 'achieved/s', 'p50 ms', 'p99 ms', 'max ms'];
    const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
    return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
    if (process.argv[2] === '--salesforce') return serveSalesforce();
    if (process.argv[2] === '--bridge') return serveBridge(process.argv[3] ?? '');

    // The emulator and the bridge each get a process: in one event loop the emulator's own work would
    // queue behind the bridge's and be counted as latency the bridge adds.
    // BENCH_CHILD_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles both.
    const childArgs = (process.env['BENCH_CHILD_ARGS'] ?? '').split(' ').filter((a) => a !== '');
    const spawn = (args: string[]): ChildProcess =>
        fork(__filename, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: childArgs });
    const sfChild = spawn(['--salesforce']);
    const children = [sfChild];
    try {
        const sf = await ask<{ url: string; phones: string[] }>(sfChild, {}, 'ready');
        const bridgeChild = spawn(['--bridge', sf.url]);
        children.push(bridgeChild);
        const bridge = await ask<{ url: string }>(bridgeChild, {}, 'ready');
        const ready = { bridgeUrl: bridge.url, salesforceUrl: sf.url, phones: sf.phones };
        const bearer = `Bearer ${await token(ready.salesforceUrl)}`;
        const phones = ready.phones;
        const slice = (from: number, count: number): string[] =>
            Array.from({ length: count }, (_, i) => phones[(from + i) % phones.length] ?? '');
        const perRun = Math.round(RATE * SECONDS);
        // Misses look up each seeded contact once (found), then numbers nobody has (not found: the same search).
        const unknown = (area: string, i: number): string => `${area}${String(1_000_000 + i).slice(1)}`;
        const seededForMiss = phones.length - HOT_SET;
        const missPhones = Array.from({ length: perRun }, (_, i) =>
            i < seededForMiss ? (phones[i] ?? '') : unknown('212', i)
        );
        const hotPhones = slice(phones.length - HOT_SET, HOT_SET);
        const direct = await Promise.all(missPhones.map(bridgeSosl));

        const scenarios: Record<string, Scenario> = {
            noop: {
                name: 'noop: emulator GET /services/data',
                request: () => ({ url: `${ready.salesforceUrl}/services/data`, init: {} })
            },
            direct: {
                name: 'direct: same SOSL straight to the emulator',
                request: (i) => ({
                    url: `${ready.salesforceUrl}/services/data/v64.0/search?q=${encodeURIComponent(direct[i % direct.length] ?? '')}`,
                    init: { headers: { Authorization: bearer } }
                })
            },
            miss: {
                name: 'miss: bridge lookup, new identifier',
                request: (i) => customerRequest(ready.bridgeUrl, missPhones[i] ?? '', i)
            },
            hit: {
                name: 'hit: bridge lookup, cached identifier',
                request: (i) => customerRequest(ready.bridgeUrl, hotPhones[i % HOT_SET] ?? '', i)
            }
        };

        // Warm-up (JIT, connection pools, token, person-account probe, the hot set in the cache); not measured.
        const warm = (phone: string, i: number) => customerRequest(ready.bridgeUrl, phone, 100_000 + i);
        for (const [i, phone] of hotPhones.entries()) {
            const { url, init } = warm(phone, i);
            await (await fetch(url, init)).arrayBuffer();
        }
        await run({ name: 'warm-up', request: (i) => warm(unknown('646', i), i) }, RATE, 2);
        await run(scenarios.direct!, RATE, 2);
        await run(scenarios.noop!, RATE, 1);

        const searchCount = async (): Promise<number> =>
            (await ask<{ byKind: Record<string, number> }>(sfChild, { counters: true }, 'counters')).byKind['search'] ??
            0;
        const results: Result[] = [];
        for (const key of ['noop', 'direct']) results.push(await run(scenarios[key]!, RATE, SECONDS));
        const before = await searchCount();
        for (const key of ['miss', 'hit']) results.push(await run(scenarios[key]!, RATE, SECONDS));
        const searches = (await searchCount()) - before;

        const [noop, directResult, miss, hit] = results as [Result, Result, Result, Result];
        const added = {
            missP50: miss.p50 - directResult.p50,
            missP99: miss.p99 - directResult.p99,
            hitP50: hit.p50 - noop.p50,
            hitP99: hit.p99 - noop.p99
        };
        const verdict = (value: number, target: number): string =>
            `${ms(value)} ms (target ≤ ${target} ms: ${value <= target ? 'met' : 'NOT met'})`;
        const summary = [
            `- added latency on a miss (miss − direct): p50 ${ms(added.missP50)} ms, p99 ${verdict(added.missP99, 5)}`,
            `- added latency on a hit (hit − noop): p50 ${ms(added.hitP50)} ms, p99 ${verdict(added.hitP99, 1)}`,
            `- Salesforce searches made by the bridge during the measured runs: ${searches} ` +
                `(expected ${perRun}: one per miss, none per hit)`
        ].join('\n');
        const command = `BENCH_RATE=${RATE} BENCH_SECONDS=${SECONDS} BENCH_CONTACTS=${CONTACTS} npm run bench:lookup`;
        const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, ${os.platform()} ${os.release()}`;
        const report = [
            `Command: \`${command}\``,
            `Date: ${new Date().toISOString()}`,
            `Machine: ${machine}`,
            `Data: ${CONTACTS} contacts and ${Math.floor(CONTACTS / 6)} leads in the Salesforce emulator; ${SECONDS} s per scenario, open loop`,
            '',
            table(results),
            '',
            summary
        ].join('\n');
        console.log(report);

        if (process.env['BENCH_WRITE'] !== '0')
            writeBenchmarkSection(`lookup:${RATE}`, report, `### CRM lookup at ${RATE} lookups/s`);
    } finally {
        for (const child of children.reverse()) {
            child.send({ stop: true });
            await new Promise((resolve) => child.once('exit', resolve));
        }
    }
}

main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
