/**
 * Benchmark of live-agent handover (issue 6): `npm run bench:handover`.
 *
 * One run starts the Salesforce, Haptik and Enhanced Chat emulators in this process and a real bridge
 * in a child process (dist/scripts/bridge-process.js, so its memory and CPU are its own), then:
 *
 *   direct   the same two hops without the bridge: an agent message posted straight to the Haptik
 *            emulator, a user message posted straight to the Enhanced Chat emulator (one loopback round trip)
 *   open     BENCH_ACTIVE handovers requested through the signed integration route and accepted by agents
 *   relay    BENCH_RATE messages/s in total for BENCH_SECONDS, half each way, open loop (message i is due at
 *            t0 + i/rate and its latency counts from then): user → agent as signed TRACT messages (the ack
 *            is the bridge's HTTP answer, end to end is the emulator's receipt), agent → user as agent
 *            messages on the emulator (end to end is the Haptik emulator's receipt)
 *   idle     the bridge's RSS per open handover and its CPU over BENCH_IDLE_SECONDS with nothing to do,
 *            with BENCH_ACTIVE handovers, then with BENCH_IDLE handovers open (waiting for an agent)
 *
 * Added latency = bridge end to end − direct, per percentile. Database: BENCH_DATABASE_URL or
 * TEST_DATABASE_URL (a fresh schema, dropped afterwards), else the embedded PGlite in a temp folder.
 * Salesforce's token limit (200/min/org) would make opening thousands of chats take many minutes, so the
 * emulator and the adapter get a higher limit here; the benchmark measures the bridge, not that ramp.
 * BENCH_WRITE=0 leaves BENCHMARKS.md alone; BENCH_BRIDGE_NODE_ARGS passes node flags to the bridge (e.g. --cpu-prof).
 * `--chat legacy` runs the same against the legacy Chat REST API (Live Agent emulator, one long poll per chat).
 * `--instances N` runs N bridge processes on one PostgreSQL (issue 10): requests go to them in turn, as a
 * round-robin load balancer would send them, and RSS and CPU are the sum over the processes.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { writeBenchmarkSection } from './bench-report';
import { signHaptikBody, SIGNATURE_HEADERS } from '../bridge/src/http/signature';
import { textHsl } from '../bridge/src/haptik/hsl';
import { integrationRequest, tractMessage } from '../test/emulators/haptik';
import {
    SANDBOX_CREDENTIALS,
    SANDBOX_ES_DEVELOPER_NAME,
    SANDBOX_LIVE_AGENT,
    liveAgentEnv,
    sandboxEnv,
    startEmulators
} from '../test/emulators/sandbox';
import type { AgentConsole } from '../test/emulators/agent-console';
import type { BridgeProcessOptions } from './bridge-process';

const ACTIVE = Number(process.env['BENCH_ACTIVE'] ?? 2000);
const IDLE = Number(process.env['BENCH_IDLE'] ?? 11000);
const RATE = Number(process.env['BENCH_RATE'] ?? 400);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 20);
const IDLE_SECONDS = Number(process.env['BENCH_IDLE_SECONDS'] ?? 10);
const OPEN_CONCURRENCY = Number(process.env['BENCH_OPEN_CONCURRENCY'] ?? 32);
const WRITE = process.env['BENCH_WRITE'] !== '0';
/** Outbox jobs run at once in the bridge (each of a different user or chat); the worker's default is 4. */
const OUTBOX_CONCURRENCY = Number(process.env['BENCH_OUTBOX_CONCURRENCY'] ?? 32);
const DATABASE_URL = process.env['BENCH_DATABASE_URL'] ?? process.env['TEST_DATABASE_URL'];
const ROOT = path.resolve(__dirname, '..', '..');
const c = SANDBOX_CREDENTIALS;
const LEGACY = process.argv[process.argv.indexOf('--chat') + 1] === 'legacy';
const INSTANCES = process.argv.includes('--instances')
    ? Number(process.argv[process.argv.indexOf('--instances') + 1])
    : 1;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(values: number[], p: number): number {
    if (values.length === 0) return Number.NaN;
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const ms = (value: number): string => (Number.isFinite(value) ? value.toFixed(1) : 'n/a');

/** Summed over the bridge processes. */
function procStatus(pids: readonly number[]): { rssKb: number; cpuTicks: number } {
    return pids
        .map(processStatus)
        .reduce((a, b) => ({ rssKb: a.rssKb + b.rssKb, cpuTicks: a.cpuTicks + b.cpuTicks }), { rssKb: 0, cpuTicks: 0 });
}

function processStatus(pid: number): { rssKb: number; cpuTicks: number } {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { rssKb, cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

async function until<T>(probe: () => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
        const value = probe();
        if (value !== undefined && value !== false) return value;
        if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(50);
    }
}

/** Runs `count` tasks at a fixed offered rate (open loop); each gets its due time. */
async function openLoop(count: number, rate: number, task: (i: number, due: number) => Promise<void>): Promise<void> {
    const t0 = performance.now() + 20;
    const running: Array<Promise<void>> = [];
    for (let i = 0; i < count; i++) {
        const due = t0 + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
        running.push(task(i, due));
    }
    await Promise.all(running);
}

async function inBatches(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
    let next = 0;
    await Promise.all(
        Array.from({ length: concurrency }, async () => {
            while (next < count) {
                const i = next++;
                await task(i);
            }
        })
    );
}

function startChild(entry: string, options: BridgeProcessOptions): Promise<{ child: ChildProcess; url: string }> {
    const child = fork(entry, [], {
        env: { PATH: process.env['PATH'] ?? '', BRIDGE_PROCESS_OPTIONS: JSON.stringify(options) },
        // e.g. BENCH_BRIDGE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the bridge alone.
        execArgv: (process.env['BENCH_BRIDGE_NODE_ARGS'] ?? '').split(' ').filter((arg) => arg !== ''),
        stdio: ['ignore', 'pipe', 'inherit', 'ipc']
    });
    return new Promise((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (chunk: Buffer) => {
            out += chunk.toString('utf8');
            const match = /READY (\S+)/.exec(out);
            if (match?.[1] !== undefined) resolve({ child, url: match[1] });
        });
        child.once('exit', (code) => reject(new Error(`bridge exited with ${code}`)));
    });
}

async function main(): Promise<void> {
    const entry = path.join(ROOT, 'dist', 'scripts', 'bridge-process.js');
    if (!existsSync(entry)) throw new Error('run `npm run build` first (npm run bench:handover does)');
    if (!Number.isInteger(INSTANCES) || INSTANCES < 1) throw new Error('--instances takes a whole number, e.g. 3');
    if (INSTANCES > 1 && DATABASE_URL === undefined) {
        throw new Error('--instances needs PostgreSQL: set BENCH_DATABASE_URL or TEST_DATABASE_URL');
    }

    const emulators = await startEmulators({
        enhancedChat: { limits: { tokensPerWindow: 100_000, messagesPerWindow: 100_000 } }
    });
    const { salesforce, haptik, liveAgent } = emulators;
    const chat: AgentConsole = LEGACY ? liveAgent : emulators.chat;
    const schema = `bench_handover_${process.pid}`;
    const database: Record<string, string> =
        DATABASE_URL === undefined
            ? { BRIDGE_DATA_DIR: await mkdtemp(path.join(os.tmpdir(), 'bench-handover-')) }
            : { DATABASE_URL };
    const options: BridgeProcessOptions = {
        env: {
            ...sandboxEnv(salesforce.url, haptik.url),
            SF_SCRT_URL: emulators.chat.url,
            ...(LEGACY ? liveAgentEnv(liveAgent) : {}),
            ...database
        },
        mapping: {
            handover: {
                noAgentTimeoutSeconds: 86400,
                waitNoticeIntervalSeconds: 3600,
                recentMessages: 0,
                routingAttributes: { Haptik_Conversation: 'conversationKey' }
            }
        },
        ...(DATABASE_URL === undefined ? {} : { databaseSchema: schema }),
        outbox: { pollIntervalMs: 200, concurrency: OUTBOX_CONCURRENCY },
        chatTuning: { tokenRatePerMinute: 100_000, messageRatePerMinute: 100_000 },
        logLevel: 'error'
    };
    // One after another: the first one migrates the schema.
    const bridges: Array<{ child: ChildProcess; url: string }> = [];
    for (let i = 0; i < INSTANCES; i += 1) {
        bridges.push(await startChild(entry, { ...options, streams: { instanceId: `bench-${i}` } }));
    }
    const pid = bridges.map((b) => b.child.pid!);
    let next = 0;
    /** The next bridge, in turn. */
    const nextUrl = (): string => bridges[next++ % bridges.length]!.url;
    const lines: string[] = [];
    const log = (line: string): void => {
        lines.push(line);
        console.log(line);
    };

    const post = async (target: string, body: unknown, headers: Record<string, string> = {}): Promise<number> => {
        const raw = JSON.stringify(body);
        const response = await fetch(target, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', ...headers },
            body: raw
        });
        await response.arrayBuffer();
        return response.status;
    };
    const signed = (route: string, body: unknown): Promise<number> => {
        const raw = JSON.stringify(body);
        return post(`${nextUrl()}${route}`, body, {
            [SIGNATURE_HEADERS.sha1]: signHaptikBody(c.webhookSecret, raw, 'sha1')
        });
    };

    try {
        await sleep(1000);
        const base = procStatus(pid);
        console.error('bench: bridge up, measuring the direct hops');

        // ---- direct: the two hops without the bridge
        const haptikHeaders = { 'client-id': c.haptikClientId, Authorization: `Bearer ${c.haptikApiToken}` };
        const directToAgentPost = LEGACY ? await directLiveAgentChat() : await directEnhancedChat();
        const directCount = Math.max(200, Math.round((RATE / 2) * Math.min(SECONDS, 10)));
        const directToUser: number[] = [];
        const directToAgent: number[] = [];
        await openLoop(directCount * 2, RATE, async (i, due) => {
            if (i % 2 === 0) {
                await post(
                    `${haptik.url}/tract/message/send/`,
                    {
                        user_id: 'direct',
                        message_body: textHsl(`d${i}`),
                        sender: 'aeu',
                        metadata: { message_id: `d${i}` }
                    },
                    haptikHeaders
                );
                directToUser.push(performance.now() - due);
            } else {
                await directToAgentPost(`d${i}`);
                directToAgent.push(performance.now() - due);
            }
        });
        haptik.reset();
        console.error('bench: direct done, opening handovers');

        /** Live Agent's user → agent hop without the bridge: one sequenced ChatMessage POST. */
        async function directLiveAgentChat(): Promise<(text: string) => Promise<void>> {
            const rest = `${liveAgent.endpoint}/rest`;
            const version = { 'X-LIVEAGENT-API-VERSION': '64' };
            const session = (await (
                await fetch(`${rest}/System/SessionId`, { headers: { ...version, 'X-LIVEAGENT-AFFINITY': 'null' } })
            ).json()) as { id: string; key: string; affinityToken: string };
            const headers = (sequence: number): Record<string, string> => ({
                ...version,
                'X-LIVEAGENT-AFFINITY': session.affinityToken,
                'X-LIVEAGENT-SESSION-KEY': session.key,
                'X-LIVEAGENT-SEQUENCE': String(sequence)
            });
            let sequence = 1;
            await post(
                `${rest}/Chasitor/ChasitorInit`,
                {
                    organizationId: c.sfOrgId,
                    ...SANDBOX_LIVE_AGENT,
                    sessionId: session.id,
                    visitorName: 'direct',
                    prechatDetails: [],
                    prechatEntities: [],
                    isPost: true
                },
                headers(sequence)
            );
            liveAgent.accept(session.id, 'Direct');
            return async (text) => {
                sequence += 1;
                await post(`${rest}/Chasitor/ChatMessage`, { text }, headers(sequence));
            };
        }

        /** Enhanced Chat's user → agent hop without the bridge: one message POST. */
        async function directEnhancedChat(): Promise<(text: string) => Promise<void>> {
            const enhanced = emulators.chat;
            const tokenAnswer = (await (
                await fetch(`${enhanced.url}/iamessage/api/v2/authorization/unauthenticated/access-token`, {
                    method: 'POST',
                    headers: { 'Content-Type': 'application/json' },
                    body: JSON.stringify({
                        orgId: c.sfOrgId,
                        esDeveloperName: SANDBOX_ES_DEVELOPER_NAME,
                        capabilitiesVersion: '1',
                        platform: 'Web'
                    })
                })
            ).json()) as { accessToken: string };
            const chatHeaders = { Authorization: `Bearer ${tokenAnswer.accessToken}` };
            const directConversation = crypto.randomUUID();
            await post(
                `${enhanced.url}/iamessage/api/v2/conversation`,
                { conversationId: directConversation, esDeveloperName: SANDBOX_ES_DEVELOPER_NAME },
                chatHeaders
            );
            return async (text) => {
                await post(
                    `${enhanced.url}/iamessage/api/v2/conversation/${directConversation}/message`,
                    {
                        message: {
                            id: crypto.randomUUID(),
                            messageType: 'StaticContentMessage',
                            staticContent: { formatType: 'Text', text }
                        },
                        esDeveloperName: SANDBOX_ES_DEVELOPER_NAME
                    },
                    chatHeaders
                );
            };
        }

        // ---- open ACTIVE handovers and let agents accept them
        const openStarted = performance.now();
        const ids: string[] = new Array<string>(ACTIVE);
        await inBatches(ACTIVE, OPEN_CONCURRENCY, async (i) => {
            const status = await signed(
                '/haptik/integrations/handover',
                integrationRequest({ userId: `bench-${i}`, userName: `bench_${i}`, node: 'talk_to_agent' })
            );
            if (status !== 200) throw new Error(`handover answered ${status}`);
        });
        const conversations = await until(
            () => {
                const all = chat
                    .conversations()
                    .filter((x) => x.status !== 'Ended' && x.routingAttributes['Haptik_Conversation'] !== undefined);
                return all.length >= ACTIVE ? all : undefined;
            },
            30 * 60_000,
            'all chats to be created'
        );
        // The chat carries the conversation key (a mapped pre-chat field): `<business>:<user>:<no>`.
        const userOf = new Map<string, string>();
        for (const conv of conversations) {
            const key = conv.routingAttributes['Haptik_Conversation'];
            userOf.set(conv.conversationId, (typeof key === 'string' ? key : '').split(':')[1] ?? '');
        }
        conversations.forEach((conv, i) => {
            ids[i] = conv.conversationId;
            chat.accept(conv.conversationId, `Agent ${i % 50}`);
        });
        await until(
            () => haptik.calls.filter((call) => call.path === '/tract/events/send').length >= ACTIVE || undefined,
            30 * 60_000,
            'every agent join to reach Haptik'
        );
        const openSeconds = (performance.now() - openStarted) / 1000;
        log(`open: ${ACTIVE} handovers requested, routed and accepted in ${openSeconds.toFixed(1)} s`);

        haptik.reset();
        console.error('bench: relaying');

        // ---- relay both ways
        const relayCount = Math.round(RATE * SECONDS);
        const ackLatency: number[] = [];
        const toAgent: Array<{ conv: string; text: string; due: number }> = [];
        const toUser: number[] = [];
        let failures = 0;
        let messageId = 1_000_000;
        // Agent messages reaching Haptik, timed by a cheap incremental scan of the emulator's call log
        // (one waiter per message would rescan the whole log each time and slow this process down).
        const arrivals = new Map<string, (at: number) => void>();
        let scanned = 0;
        const scanner = setInterval(() => {
            const calls = haptik.calls;
            for (; scanned < calls.length; scanned++) {
                const call = calls[scanned]!;
                if (call.path !== '/tract/message/send/') continue;
                const body = String((call.body as { message_body?: unknown }).message_body);
                const match = /"text":"(a\d+)"/.exec(body);
                const resolve = match?.[1] === undefined ? undefined : arrivals.get(match[1]);
                if (resolve !== undefined) {
                    arrivals.delete(match![1]!);
                    resolve(performance.now());
                }
            }
        }, 1);
        const cpuBefore = procStatus(pid).cpuTicks;
        const relayStarted = performance.now();
        await openLoop(relayCount, RATE, async (i, due) => {
            const conv = ids[i % ids.length]!;
            if (i % 2 === 0) {
                const user = userOf.get(conv)!;
                const text = `u${i}`;
                const status = await signed(
                    '/haptik/tract/message',
                    tractMessage({ userId: user, messageId: messageId++, text })
                );
                ackLatency.push(performance.now() - due);
                if (status !== 200) failures += 1;
                else toAgent.push({ conv, text, due });
            } else {
                const text = `a${i}`;
                const arrived = new Promise<number>((resolve) => arrivals.set(text, resolve));
                chat.agentMessage(conv, text);
                toUser.push((await arrived) - due);
            }
        });
        const relaySeconds = (performance.now() - relayStarted) / 1000;
        clearInterval(scanner);
        console.error(
            `bench: relay sent (${toAgent.length} to agents, ${toUser.length} to users, ${failures} failures)`
        );
        const toAgentLatency: number[] = [];
        const nowEpoch = Date.now();
        const perfToEpoch = nowEpoch - performance.now();
        await until(
            () => toAgent.every((m) => chat.messagesFrom(m.conv).some((x) => x.text === m.text)) || undefined,
            120_000,
            'user messages to reach the agents'
        );
        for (const m of toAgent) {
            const received = chat.messagesFrom(m.conv).find((x) => x.text === m.text)!;
            toAgentLatency.push(received.at - (m.due + perfToEpoch));
        }
        const clk = 100; // USER_HZ
        const relayCpuPercent = ((procStatus(pid).cpuTicks - cpuBefore) / clk / relaySeconds) * 100;

        log(
            `relay: ${relayCount} messages in ${relaySeconds.toFixed(1)} s (offered ${RATE}/s, achieved ${(relayCount / relaySeconds).toFixed(0)}/s), ${failures} failures, bridge CPU ${relayCpuPercent.toFixed(0)}% of one core`
        );
        const rows: Array<[string, number[], number[]]> = [
            ['user → agent (end to end)', toAgentLatency, directToAgent],
            ['agent → user (end to end)', toUser, directToUser]
        ];
        log('');
        log('| path | bridge p50 | bridge p99 | direct p50 | direct p99 | added p50 | added p99 |');
        log('|---|---|---|---|---|---|---|');
        for (const [name, bridge, direct] of rows) {
            const b50 = percentile(bridge, 50);
            const b99 = percentile(bridge, 99);
            const d50 = percentile(direct, 50);
            const d99 = percentile(direct, 99);
            log(
                `| ${name} | ${ms(b50)} ms | ${ms(b99)} ms | ${ms(d50)} ms | ${ms(d99)} ms | ${ms(b50 - d50)} ms | ${ms(b99 - d99)} ms |`
            );
        }
        log(
            `| Haptik request acknowledged (TRACT message → 200) | ${ms(percentile(ackLatency, 50))} ms | ${ms(percentile(ackLatency, 99))} ms | | | | |`
        );
        log('');

        // ---- idle with ACTIVE handovers
        const idle = async (count: number): Promise<void> => {
            await sleep(3000);
            const before = procStatus(pid);
            await sleep(IDLE_SECONDS * 1000);
            const after = procStatus(pid);
            const cpu = ((after.cpuTicks - before.cpuTicks) / clk / IDLE_SECONDS) * 100;
            const perHandover = ((after.rssKb - base.rssKb) * 1024) / count / 1024;
            log(
                `idle with ${count} open handovers: bridge RSS ${(after.rssKb / 1024).toFixed(0)} MB (${(base.rssKb / 1024).toFixed(0)} MB at start) = ${perHandover.toFixed(1)} KB per handover; CPU ${cpu.toFixed(1)}% of one core`
            );
        };
        await idle(ACTIVE);

        // ---- idle with IDLE handovers open (waiting for an agent)
        if (IDLE > ACTIVE) {
            const more = IDLE - ACTIVE;
            const started = performance.now();
            await inBatches(more, OPEN_CONCURRENCY, async (i) => {
                const status = await signed(
                    '/haptik/integrations/handover',
                    integrationRequest({ userId: `idle-${i}`, userName: `idle_${i}`, node: 'talk_to_agent' })
                );
                if (status !== 200) throw new Error(`handover answered ${status}`);
            });
            const open = (): number =>
                LEGACY
                    ? liveAgent.conversations().filter((x) => x.status === 'Waiting').length + ACTIVE
                    : emulators.chat.stats.activeStreams;
            await until(() => open() >= IDLE || undefined, 60 * 60_000, `${IDLE} open chat streams`);
            log(
                `open: ${more} more handovers waiting for an agent in ${((performance.now() - started) / 1000).toFixed(1)} s`
            );
            await idle(IDLE);
        }
        log(
            `database: ${DATABASE_URL === undefined ? 'embedded PGlite' : 'PostgreSQL'}; bridge instances: ${INSTANCES}; ${os.cpus().length} cores; node ${process.version}`
        );
    } finally {
        if (process.env['BENCH_BRIDGE_NODE_ARGS'] !== undefined) {
            // A graceful exit lets --cpu-prof and the like write their files.
            const exited = Promise.all(bridges.map((b) => new Promise((resolve) => b.child.once('exit', resolve))));
            for (const b of bridges) b.child.kill('SIGTERM');
            await Promise.race([exited, sleep(15_000)]);
        }
        for (const b of bridges) b.child.kill('SIGKILL');
        await emulators.close();
        if (DATABASE_URL !== undefined) {
            const pool = new Pool({ connectionString: DATABASE_URL, max: 1 });
            await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
            await pool.end();
        }
    }

    if (WRITE) {
        const flags = [...(LEGACY ? ['--chat legacy'] : []), ...(INSTANCES > 1 ? [`--instances ${INSTANCES}`] : [])];
        const benchArgs = flags.length === 0 ? '' : ` -- ${flags.join(' ')}`;
        const report = [
            `Command: \`BENCH_ACTIVE=${ACTIVE} BENCH_IDLE=${IDLE} BENCH_RATE=${RATE} BENCH_SECONDS=${SECONDS} BENCH_OUTBOX_CONCURRENCY=${OUTBOX_CONCURRENCY} npm run bench:handover${benchArgs}\` (${new Date().toISOString().slice(0, 10)})`,
            '',
            ...lines
        ].join('\n');
        const section = INSTANCES > 1 ? `:i${INSTANCES}` : '';
        writeBenchmarkSection(
            LEGACY ? `handover-legacy:c${OUTBOX_CONCURRENCY}${section}` : `handover:c${OUTBOX_CONCURRENCY}${section}`,
            report,
            INSTANCES > 1
                ? `## Live agent handover across ${INSTANCES} bridge instances (issue 10): \`npm run bench:handover${benchArgs}\``
                : LEGACY
                  ? '## Live agent handover on the legacy Chat REST API (issue 7): `npm run bench:handover -- --chat legacy`'
                  : '## Live agent handover (issue 6): `npm run bench:handover`'
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
