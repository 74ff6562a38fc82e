/**
 * Benchmark of transcript Cases in a burst (issue 5): `npm run bench:cases`.
 *
 * Starts the sandbox (Salesforce and Haptik emulators and a real bridge on loopback, embedded
 * database), seeds Haptik's chat history for BENCH_CONVERSATIONS conversations (a few KB each), then
 * sends that many signed `webhook_conversation_complete` webhooks (BENCH_CONCURRENCY in flight) and
 * measures:
 *   - the webhook answers (Haptik's 5 s budget: the bridge answers after a durable write);
 *   - the time from the first webhook until every Case exists in the emulator;
 *   - Salesforce REST calls the bridge made (the emulator's counters) and calls per conversation;
 *   - that there is exactly one Case per conversation;
 *   - then the latency of lone conversations (webhook sent → Case visible), one at a time.
 * Options: BENCH_CONVERSATIONS (default 5000), BENCH_CONCURRENCY (default 32), BENCH_LONE (default 5),
 * BENCH_DATABASE_URL (PostgreSQL instead of the embedded database), BENCH_WRITE=0 (print only).
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { webhookConversationComplete } from '../test/emulators/haptik/haptik-sender';
import type { ChatHistoryScriptEntry } from '../test/emulators/haptik';
import { SANDBOX_CREDENTIALS, startSandbox } from '../test/emulators/sandbox';
import type { Sandbox } from '../test/emulators/sandbox';
import { openPostgresDb } from '../bridge/src/store/postgres-db';
import { writeBenchmarkSection } from './bench-report';

const CONVERSATIONS = Number(process.env['BENCH_CONVERSATIONS'] ?? 5000);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 32);
const LONE = Number(process.env['BENCH_LONE'] ?? 5);
const DATABASE_URL = process.env['BENCH_DATABASE_URL'];
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
function history(i: number): ChatHistoryScriptEntry[] {
    const start = Date.parse('2026-11-25T10:00:00Z') + i * 1000;
    return Array.from({ length: 24 }, (_, m) => ({
        text: `${LINES[m % LINES.length] ?? ''} (${i}.${m})`,
        sender: m % 2 === 0 ? 'user' : 'bot',
        message_id: i * 100 + m,
        at: new Date(start + m * 15_000)
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

async function sendComplete(sandbox: Sandbox, i: number): Promise<number> {
    const started = performance.now();
    const result = await sandbox.send.webhook(
        webhookConversationComplete({
            ...userOf(i),
            conversationNo: 1,
            devicePlatform: 14,
            userDetails: { name: `Customer ${i}` },
            completionType: 'gogo'
        })
    );
    if (result.status !== 200) throw new Error(`webhook ${i} answered ${result.status}`);
    return performance.now() - started;
}

const conversationKey = (i: number): string => `${SANDBOX_CREDENTIALS.haptikBusinessId}:${userOf(i).userId}:1`;

async function waitFor(check: () => boolean, timeoutMs: number, pollMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (!check()) {
        if (performance.now() > deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    return true;
}

async function main(): Promise<void> {
    const schema = `bench_cases_${process.pid}`;
    const sandbox = await startSandbox({
        ...(DATABASE_URL ? { database: { url: DATABASE_URL, schema } } : {}),
        mapping: { transcript: { mode: 'all' } }
    });
    try {
        for (let i = 0; i < CONVERSATIONS + LONE; i++) {
            const { userName } = userOf(i);
            sandbox.haptik.setChatHistory(userName, 1, history(i));
        }
        // Warm up (token, first query plans) with one conversation outside the counts.
        await sendComplete(sandbox, CONVERSATIONS + LONE - 1);
        await waitFor(() => sandbox.salesforce.records('Case').length === 1, 30_000, 20);
        sandbox.salesforce.reset();
        const casesBefore = 1;

        // The burst.
        const webhookMs: number[] = [];
        const t0 = performance.now();
        let next = 0;
        await Promise.all(
            Array.from({ length: CONCURRENCY }, async () => {
                for (let i = next++; i < CONVERSATIONS; i = next++) webhookMs.push(await sendComplete(sandbox, i));
            })
        );
        const acceptedMs = performance.now() - t0;
        let caseCount = 0;
        const complete = await waitFor(
            () => {
                caseCount = sandbox.salesforce.records('Case').length - casesBefore;
                return caseCount >= CONVERSATIONS;
            },
            15 * 60_000,
            100
        );
        const allCasesMs = performance.now() - t0;
        const calls = sandbox.salesforce.apiCalls;
        const cases = sandbox.salesforce.records('Case');
        const perKey = new Map<string, number>();
        for (const c of cases) perKey.set(String(c[KEY]), (perKey.get(String(c[KEY])) ?? 0) + 1);
        const missing = Array.from({ length: CONVERSATIONS }, (_, i) => conversationKey(i)).filter(
            (k) => perKey.get(k) !== 1
        );
        const transcriptSizes = cases
            .map((c) => (typeof c.Haptik_Transcript__c === 'string' ? c.Haptik_Transcript__c.length : 0))
            .sort((a, b) => a - b);
        const dead = (await sandbox.bridge.outbox.refreshDepth()).dead;

        // Lone conversations, one at a time, after the burst.
        const loneMs: number[] = [];
        const loneCalls0 = sandbox.salesforce.apiCalls.total;
        for (let n = 0; n < LONE - 1; n++) {
            const i = CONVERSATIONS + n;
            const started = performance.now();
            await sendComplete(sandbox, i);
            const key = conversationKey(i);
            const ok = await waitFor(() => sandbox.salesforce.records('Case').some((c) => c[KEY] === key), 30_000, 5);
            loneMs.push(ok ? performance.now() - started : Number.POSITIVE_INFINITY);
        }
        const loneCalls = sandbox.salesforce.apiCalls.total - loneCalls0;
        webhookMs.sort((a, b) => a - b);
        loneMs.sort((a, b) => a - b);

        const perConversation = calls.total / CONVERSATIONS;
        const exact = complete && missing.length === 0 && cases.length - casesBefore === CONVERSATIONS;
        const loneMax = loneMs.at(-1) ?? Number.NaN;
        const report = [
            `Run: ${new Date().toISOString()} on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'}), node ${process.version}, ` +
                `database ${DATABASE_URL ? 'PostgreSQL 15 (127.0.0.1)' : 'embedded (PGlite)'}, ` +
                `command \`${DATABASE_URL ? 'BENCH_DATABASE_URL=… ' : ''}npm run bench:cases\`` +
                (CONVERSATIONS === 5000 ? '' : ` with BENCH_CONVERSATIONS=${CONVERSATIONS}`) +
                '.',
            '',
            ...markdownTable(
                ['measure', 'result', 'target'],
                [
                    `conversations completed (signed \`webhook_conversation_complete\`, ${CONCURRENCY} in flight) | ${CONVERSATIONS} | —`,
                    `webhook answer p50 / p99 / max | ${ms(percentile(webhookMs, 50))} / ${ms(percentile(webhookMs, 99))} / ${ms(webhookMs.at(-1) ?? Number.NaN)} | < 5 s`,
                    `all webhooks answered after | ${(acceptedMs / 1000).toFixed(1)} s | —`,
                    `all Cases exist after (from the first webhook) | ${complete ? `${(allCasesMs / 1000).toFixed(1)} s` : `not within 15 min (${caseCount} Cases)`} | —`,
                    `Cases in the emulator / exactly one per conversation | ${cases.length - casesBefore} / ${exact ? 'yes' : `no (${missing.length} keys wrong)`} | ${CONVERSATIONS} / yes`,
                    `dead-lettered jobs | ${dead} | 0`,
                    `Salesforce REST calls during the burst | ${calls.total} (${Object.entries(calls.byKind)
                        .map(([k, v]) => `${k} ${v}`)
                        .join(', ')}) | ≤ ${Math.ceil(CONVERSATIONS * 0.02)}`,
                    `calls per conversation | ${perConversation.toFixed(4)} | ≤ 0.02`,
                    `transcript field size p50 / max | ${percentile(transcriptSizes, 50)} / ${transcriptSizes.at(-1) ?? 0} chars | —`,
                    `lone conversation: webhook → Case visible, median / max of ${loneMs.length} | ${ms(percentile(loneMs, 50))} / ${ms(loneMax)} (${loneCalls} calls) | ≤ 2 s`
                ].map((row) => row.split(' | '))
            ),
            ''
        ].join('\n');
        console.log(report);
        if (process.env['BENCH_WRITE'] !== '0')
            writeBenchmarkSection(
                `cases:${DATABASE_URL ? 'postgres' : 'pglite'}`,
                report,
                `### Transcript Cases in a burst, ${DATABASE_URL ? 'PostgreSQL' : 'embedded database'}`
            );
        if (!exact) process.exitCode = 1;
    } finally {
        await sandbox.stop();
        if (DATABASE_URL) {
            const admin = await openPostgresDb({ url: DATABASE_URL, max: 1 });
            await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
            await admin.close();
        }
    }
}

main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
