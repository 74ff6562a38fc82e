/**
 * Benchmark of transcript Cases in a burst (issues 5 and 17): `npm run bench:cases`.
 *
 * Processes (bench-children): this one sends the webhooks and nothing else; the Salesforce emulator (with the chat
 * emulators) runs in one child, the Haptik emulator in another, the bridge in its own. Haptik's `get_chat_history`
 * is seeded with 24 messages for each of BENCH_CONVERSATIONS conversations, then that many signed
 * `webhook_conversation_complete` webhooks go out, BENCH_CONCURRENCY in flight, and the run measures:
 *   - the webhook answers (Haptik's 5 s budget: the bridge answers after a durable write);
 *   - the time from the first webhook until every Case exists in the emulator;
 *   - Salesforce REST calls the bridge made (the emulator's counters) and calls per conversation;
 *   - that there is exactly one Case per conversation;
 *   - then the latency of lone conversations (webhook sent → Case visible), one at a time;
 *   - each process's CPU and event-loop utilisation during the burst.
 * Options: --db pglite|postgres (BENCH_DATABASE_URL still selects PostgreSQL), --cpu-prof; BENCH_CONVERSATIONS
 * (default 5000), BENCH_CONCURRENCY (default 32), BENCH_LONE (default 5), BENCH_WRITE=0 (print only).
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { webhookConversationComplete, HAPTIK_ROUTE_PATHS } from '../test/emulators/haptik/haptik-sender';
import { SANDBOX_CREDENTIALS, sandboxEnv } from '../test/emulators/sandbox';
import { signHaptikBody, SIGNATURE_HEADERS } from '../bridge/src/http/signature';
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
import type { BridgeChild, Child } from './bench-children';
import { httpPost, httpRequest, monotonicUs } from './bench-load';
import { ProcessMonitor, formatPhase } from './bench-process-stats';

const CONVERSATIONS = Number(process.env['BENCH_CONVERSATIONS'] ?? 5000);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 32);
const LONE = Number(process.env['BENCH_LONE'] ?? 5);
const KEY = 'Haptik_Conversation_Key__c';

const LINES = [
    'Hi, I need help with my order',
    'Sure! Could you share your order number?',
    'It is A-10023, placed last Tuesday, and it still shows as processing',
    'Thanks. I can see the order. It is waiting for the courier to pick it up from our warehouse.',
    'Can you tell me when it will arrive? I need it before the weekend',
    'The courier usually picks up within 24 hours; delivery takes 2-3 working days after that.',
    'OK. Can I change the delivery address to my office?',
    'I will connect you to an agent who can change the address for you.'
];

/** About 3-4 KB of readable chat per conversation: 24 messages, user and bot taking turns. */
function history(i: number): Array<{ text: string; sender: string; message_id: number; at: string }> {
    const start = Date.parse('2026-11-25T10:00:00Z') + i * 1000;
    return Array.from({ length: 24 }, (_, m) => ({
        text: `${LINES[m % LINES.length] ?? ''} (${i}.${m})`,
        sender: m % 2 === 0 ? 'user' : 'bot',
        message_id: i * 100 + m,
        at: new Date(start + m * 15_000).toISOString()
    }));
}

const userOf = (i: number): { userId: string; userName: string } => ({
    userId: `bench-user-${i}`,
    userName: `bench-user-name-${i}`
});

function percentile(sorted: number[], p: number): number {
    if (sorted.length === 0) return Number.NaN;
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** A Markdown table with padded columns (as prettier writes them), so BENCHMARKS.md stays formatted. */
function markdownTable(header: string[], rows: string[][]): string[] {
    const widths = header.map((h, c) => Math.max(3, h.length, ...rows.map((r) => (r[c] ?? '').length)));
    const line = (cells: string[]): string => `| ${widths.map((w, c) => (cells[c] ?? '').padEnd(w)).join(' | ')} |`;
    return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)];
}

const ms = (v: number): string => `${v.toFixed(v < 10 ? 1 : 0)} ms`;

async function sendComplete(bridge: BridgeChild, i: number): Promise<number> {
    const started = performance.now();
    const raw = JSON.stringify(
        webhookConversationComplete({
            ...userOf(i),
            conversationNo: 1,
            devicePlatform: 14,
            userDetails: { name: `Customer ${i}` },
            completionType: 'gogo'
        })
    );
    const status = await httpPost(`${bridge.url}${HAPTIK_ROUTE_PATHS.webhook}`, raw, {
        [SIGNATURE_HEADERS.sha1]: signHaptikBody(SANDBOX_CREDENTIALS.webhookSecret, raw, 'sha1')
    });
    if (status !== 200) throw new Error(`webhook ${i} answered ${status}`);
    return performance.now() - started;
}

const conversationKey = (i: number): string => `${SANDBOX_CREDENTIALS.haptikBusinessId}:${userOf(i).userId}:1`;

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, pollMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (!(await check())) {
        if (performance.now() > deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    return true;
}

/** Dead-lettered outbox jobs, from the bridge's Prometheus counter. */
async function deadLetters(bridge: BridgeChild): Promise<number> {
    const text = (await httpRequest('GET', `${bridge.url}/metrics`)).body;
    return Number(/^bridge_outbox_dead_letters_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
}

async function main(): Promise<void> {
    const bench = benchOptions();
    const database = await benchDatabase(bench, 'cases');
    const profileDir = bench.cpuProf ? await mkdtemp(path.join(os.tmpdir(), 'bench-cases-prof-')) : undefined;
    const children: Child[] = [];
    let report = '';
    let exact = false;
    let window: { fromUs: number; toUs: number; phase: string } | undefined;
    try {
        const haptik = await forkChild<{ url: string }>('emulator: Haptik', 'bench-emulator-process.js', ['haptik']);
        children.push(haptik.child);
        const world = await forkChild<{ salesforceUrl: string; chatUrl: string }>(
            'emulators: Salesforce + chat',
            'bench-emulator-process.js',
            ['salesforce', JSON.stringify({ haptikUrl: haptik.ready.url })]
        );
        children.push(world.child);
        const sf = world.child;
        const [bridge] = await startBridges(
            1,
            {
                env: {
                    ...sandboxEnv(world.ready.salesforceUrl, haptik.ready.url),
                    SF_SCRT_URL: world.ready.chatUrl,
                    ...database.env
                },
                ...(database.schema === undefined ? {} : { databaseSchema: database.schema }),
                mapping: { transcript: { mode: 'all' } }
            },
            bench,
            profileDir
        );
        children.push(bridge!);
        const monitor = new ProcessMonitor(database.postgresProcesses);
        monitor.add({ name: 'webhook sender (this process)', role: 'generator', pid: process.pid, self: true });
        monitorChildren(monitor, 'emulator', [haptik.child, sf]);
        monitorChildren(monitor, 'bridge', [bridge!]);

        for (let from = 0; from < CONVERSATIONS + LONE; from += 250) {
            const items = [];
            for (let i = from; i < Math.min(CONVERSATIONS + LONE, from + 250); i++) {
                items.push([userOf(i).userName, 1, history(i)]);
            }
            await haptik.child.call('setChatHistory', { items });
        }
        const caseCount = (): Promise<number> => sf.call<number>('caseCount');
        // Warm up (token, first query plans) with one conversation outside the counts.
        await sendComplete(bridge!, CONVERSATIONS + LONE - 1);
        await waitFor(async () => (await caseCount()) === 1, 30_000, 20);
        await sf.call('resetSalesforce');
        const casesBefore = 1;

        // The burst.
        const webhookMs: number[] = [];
        await monitor.start('burst');
        const fromUs = monotonicUs();
        const t0 = performance.now();
        let next = 0;
        await Promise.all(
            Array.from({ length: CONCURRENCY }, async () => {
                for (let i = next++; i < CONVERSATIONS; i = next++) webhookMs.push(await sendComplete(bridge!, i));
            })
        );
        const acceptedMs = performance.now() - t0;
        let cases = 0;
        const complete = await waitFor(
            async () => {
                cases = (await caseCount()) - casesBefore;
                return cases >= CONVERSATIONS;
            },
            15 * 60_000,
            500
        );
        const allCasesMs = performance.now() - t0;
        const burst = await monitor.stop();
        window = { fromUs, toUs: monotonicUs(), phase: `burst of ${CONVERSATIONS}` };
        const calls = await sf.call<{ total: number; byKind: Record<string, number> }>('apiCalls');
        const keys = await sf.call<string[]>('caseKeys', { field: KEY });
        const perKey = new Map<string, number>();
        for (const k of keys) perKey.set(k, (perKey.get(k) ?? 0) + 1);
        const missing = Array.from({ length: CONVERSATIONS }, (_, i) => conversationKey(i)).filter(
            (k) => perKey.get(k) !== 1
        );
        const transcriptSizes = (await sf.call<number[]>('caseFieldLengths', { field: 'Haptik_Transcript__c' })).sort(
            (a, b) => a - b
        );
        const dead = await deadLetters(bridge!);

        // Lone conversations, one at a time, after the burst.
        const loneMs: number[] = [];
        const loneCalls0 = (await sf.call<{ total: number }>('apiCalls')).total;
        for (let n = 0; n < LONE - 1; n++) {
            const i = CONVERSATIONS + n;
            const started = performance.now();
            await sendComplete(bridge!, i);
            const key = conversationKey(i);
            const ok = await waitFor(() => sf.call<boolean>('hasCase', { field: KEY, key }), 30_000, 5);
            loneMs.push(ok ? performance.now() - started : Number.POSITIVE_INFINITY);
        }
        const loneCalls = (await sf.call<{ total: number }>('apiCalls')).total - loneCalls0;
        webhookMs.sort((a, b) => a - b);
        loneMs.sort((a, b) => a - b);

        const perConversation = calls.total / CONVERSATIONS;
        exact = complete && missing.length === 0 && keys.length - casesBefore === CONVERSATIONS;
        const loneMax = loneMs.at(-1) ?? Number.NaN;
        report = [
            `Run: ${new Date().toISOString()} on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'}), node ${process.version}, ` +
                `database ${database.label}, command \`npm run bench:cases -- ${optionFlags(bench).join(' ')}\`` +
                (CONVERSATIONS === 5000 ? '' : ` with BENCH_CONVERSATIONS=${CONVERSATIONS}`) +
                '.',
            '',
            ...markdownTable(
                ['measure', 'result', 'target'],
                [
                    `conversations completed (signed \`webhook_conversation_complete\`, ${CONCURRENCY} in flight) | ${CONVERSATIONS} | —`,
                    `webhook answer p50 / p99 / max | ${ms(percentile(webhookMs, 50))} / ${ms(percentile(webhookMs, 99))} / ${ms(webhookMs.at(-1) ?? Number.NaN)} | < 5 s`,
                    `all webhooks answered after | ${(acceptedMs / 1000).toFixed(1)} s | —`,
                    `all Cases exist after (from the first webhook) | ${complete ? `${(allCasesMs / 1000).toFixed(1)} s` : `not within 15 min (${cases} Cases)`} | —`,
                    `Cases in the emulator / exactly one per conversation | ${keys.length - casesBefore} / ${exact ? 'yes' : `no (${missing.length} keys wrong)`} | ${CONVERSATIONS} / yes`,
                    `dead-lettered jobs | ${dead} | 0`,
                    `Salesforce REST calls during the burst | ${calls.total} (${Object.entries(calls.byKind)
                        .map(([k, v]) => `${k} ${v}`)
                        .join(', ')}) | ≤ ${Math.ceil(CONVERSATIONS * 0.02)}`,
                    `calls per conversation (issue 17: keep ≤ 0.02) | ${perConversation.toFixed(4)} (${perConversation <= 0.02 ? 'met' : 'NOT met'}) | ≤ 0.02`,
                    `transcript field size p50 / max | ${percentile(transcriptSizes, 50)} / ${transcriptSizes.at(-1) ?? 0} chars | —`,
                    `lone conversation: webhook → Case visible, median / max of ${loneMs.length} | ${ms(percentile(loneMs, 50))} / ${ms(loneMax)} (${loneCalls} calls) | ≤ 2 s`
                ].map((row) => row.split(' | '))
            ),
            '',
            ...formatPhase(burst)
        ].join('\n');
        console.log(report);
    } finally {
        for (const child of children.reverse()) await child.stop();
        await database.close();
    }
    if (profileDir !== undefined && window !== undefined) {
        const profile = profileSections(['bridge'], profileDir, window);
        console.log(profile.join('\n'));
        report += `\n### Where the time goes\n\n${profile.join('\n')}`;
    }
    if (bench.write)
        writeBenchmarkSection(
            `cases:${bench.db}`,
            report,
            `### Transcript Cases in a burst, ${bench.db === 'postgres' ? 'PostgreSQL' : 'embedded database'}`
        );
    if (!exact) process.exitCode = 1;
}

main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
