/**
 * Benchmark of live-agent handover (issues 6, 10, 17): `npm run bench:handover`.
 *
 * Processes (bench-children): this one is the load generator and nothing else; the Salesforce emulator with the
 * Enhanced Chat and Live Agent emulators runs in one child, the Haptik emulator in another, a no-op HTTP server in a
 * third, and each bridge instance in its own (dist/scripts/bridge-process.js). Every phase reports each process's
 * CPU and event-loop utilisation (bench-process-stats), with PostgreSQL's server processes when it is the database,
 * and says when a generator or emulator was saturated (the run then says nothing certain about the bridge).
 *
 * Scenario `relay` (default):
 *   direct        the two hops without the bridge, open loop at BENCH_RATE: a user message posted straight to the
 *                 chat emulator (user → agent), and an agent message that the chat emulator's process posts straight
 *                 to the Haptik emulator (agent → user; triggered over IPC exactly as the bridged agent messages are)
 *   ack baseline  the TRACT messages of the relay, signed, at the relay's user-message rate, to the no-op server
 *   open          BENCH_ACTIVE handovers requested through the signed integration route and accepted by agents
 *   relay         BENCH_RATE messages/s for BENCH_SECONDS, half each way, open loop (message i is due at t0 + i/rate
 *                 and its latency counts from then): user → agent as signed TRACT messages (the ack is the bridge's
 *                 answer; end to end is the chat emulator's receipt), agent → user as agent messages on the chat
 *                 emulator (end to end is the Haptik emulator's receipt)
 *   idle          the bridges' CPU over BENCH_IDLE_SECONDS with the BENCH_ACTIVE handovers open and nothing to do
 * Scenario `idle`: BENCH_IDLE handovers opened and accepted, then RSS and heap per handover and idle CPU.
 * `--scenario all` runs both (the idle one tops the relay's handovers up to BENCH_IDLE).
 *
 * Added latency = bridge − direct per percentile; ack added = ack − no-op. Receipt times are the emulators' clocks
 * (Date.now() in their processes) against the due time on this process's (epoch with sub-ms resolution).
 * Options: --db pglite|postgres, --instances N (round-robin, several bridges on one PostgreSQL), --cpu-prof (profile
 * the bridges; "where the time goes" of the relay or idle phase is printed), --chat legacy (Live Agent, one long
 * poll per chat), --chat byoc (Bring Your Own Channel: one Pub/Sub stream for all chats; idle scenario only),
 * --scenario relay|idle|all; BENCH_ACTIVE, BENCH_IDLE, BENCH_RATE, BENCH_SECONDS,
 * BENCH_IDLE_SECONDS, BENCH_OPEN_CONCURRENCY, BENCH_OUTBOX_CONCURRENCY, BENCH_BRIDGE_NODE_ARGS, BENCH_WRITE=0.
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeBenchmarkSection } from './bench-report';
import {
    argValue,
    benchDatabase,
    benchOptions,
    forkChild,
    monitorChildren,
    optionFlags,
    profileSections,
    startBridges
} from './bench-children';
import type { Child } from './bench-children';
import { epochNow, fmtMs, httpPost, httpRequest, monotonicUs, openLoop, p, sleep } from './bench-load';
import { ProcessMonitor, askStats, formatPhase, formatPhaseMatrix, invalidity, procTimes } from './bench-process-stats';
import type { PhaseStats } from './bench-process-stats';
import type { BridgeProcessOptions } from './bridge-process';
import { signHaptikBody, SIGNATURE_HEADERS } from '../bridge/src/http/signature';
import { integrationRequest, tractMessage } from '../test/emulators/haptik';
import {
    SANDBOX_CREDENTIALS,
    SANDBOX_ES_DEVELOPER_NAME,
    SANDBOX_LIVE_AGENT,
    sandboxEnv
} from '../test/emulators/sandbox';
import type { ChatApi } from '../test/emulators/sandbox';

const ACTIVE = Number(process.env['BENCH_ACTIVE'] ?? 2000);
const IDLE = Number(process.env['BENCH_IDLE'] ?? 11000);
const RATE = Number(process.env['BENCH_RATE'] ?? 400);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 20);
const IDLE_SECONDS = Number(process.env['BENCH_IDLE_SECONDS'] ?? 10);
const OPEN_CONCURRENCY = Number(process.env['BENCH_OPEN_CONCURRENCY'] ?? 32);
/** Outbox jobs run at once in the bridge (each of a different user or chat). */
const OUTBOX_CONCURRENCY = Number(process.env['BENCH_OUTBOX_CONCURRENCY'] ?? 32);
const CHAT_ARG = argValue('--chat') ?? 'enhanced';
const CHAT: ChatApi = CHAT_ARG === 'legacy' || CHAT_ARG === 'byoc' ? CHAT_ARG : 'enhanced';
const CHAT_LABEL: Record<ChatApi, string> = {
    enhanced: 'Enhanced Chat',
    legacy: 'legacy Chat REST (Live Agent)',
    byoc: 'Bring Your Own Channel (Interaction Service API + one Pub/Sub stream)'
};
const SCENARIO = argValue('--scenario') ?? process.env['BENCH_SCENARIO'] ?? 'relay';
const BASELINE_SECONDS = Math.min(SECONDS, 10);
/** A generator that sends later than this (p99) set the pace itself, or could not get a CPU in time. */
const MAX_SEND_LAG_MS = 5;
const c = SANDBOX_CREDENTIALS;
/** The issue-17 targets and the load they are stated at. */
const TARGET = { handovers: 2000, rate: 400, relayP99: 20, ackP99: 50, idleHandovers: 11000, idleKb: 50, idleCpu: 5 };

interface World {
    salesforceUrl: string;
    chatUrl: string;
    liveAgentUrl: string;
    liveAgentEndpoint: string;
    /** The bridge's SF_CHAT_API=byoc variables (the JWT key pair is the emulator process's). */
    byocEnv: Record<string, string>;
}

async function inBatches(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
    let next = 0;
    await Promise.all(
        Array.from({ length: concurrency }, async () => {
            while (next < count) await task(next++);
        })
    );
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
        const value = await probe();
        if (value !== undefined) return value;
        if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(250);
    }
}

const verdict = (ok: boolean): string => (ok ? 'met' : '**NOT met**');

/** What one idle run printed about its handovers (the `idle with N open handovers …` line). */
interface IdleFigures {
    chat: ChatApi;
    streams: number;
    rssKb: number;
    heapKb: number;
    cpu: number;
    openSeconds: number;
}

const IDLE_LINE =
    /idle with (\d+) open handovers \(chat (?:streams|long polls) open on the emulator: (\d+)\): .* = (-?[\d.]+) KB per handover; the last \d+ opened added -?[\d.]+ KB RSS and (-?[\d.]+) KB of JavaScript heap each; CPU (-?[\d.]+) %/;

/** Runs this benchmark once with `--chat chat` in a process of its own (nothing shared with the other run). */
function runIdleFor(chat: ChatApi): Promise<IdleFigures> {
    const args = process.argv.slice(2);
    const at = args.indexOf('--chat');
    if (at >= 0) args.splice(at, 2);
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [__filename, ...args, '--chat', chat], {
            env: { ...process.env, BENCH_WRITE: '0' },
            stdio: ['ignore', 'pipe', 'inherit']
        });
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
            out += chunk.toString();
            process.stdout.write(chunk);
        });
        child.on('error', reject);
        child.on('close', (code) => {
            const idle = IDLE_LINE.exec(out);
            const open = /open: \d+ more handovers requested, routed and accepted in ([\d.]+) s/.exec(out);
            if (code !== 0 || idle === null) {
                reject(new Error(`the ${chat} run failed (exit ${code ?? 'signal'})`));
                return;
            }
            resolve({
                chat,
                streams: Number(idle[2]),
                rssKb: Number(idle[3]),
                heapKb: Number(idle[4]),
                cpu: Number(idle[5]),
                openSeconds: Number(open?.[1] ?? Number.NaN)
            });
        });
    });
}

/**
 * `--chat enhanced,byoc` (idle scenario): the two chat APIs one after the other in the same invocation, each in
 * a fresh set of processes, and their per-handover memory and idle CPU side by side.
 */
async function compareIdle(chats: ChatApi[]): Promise<void> {
    const bench = benchOptions();
    const figures: IdleFigures[] = [];
    for (const chat of chats) figures.push(await runIdleFor(chat));
    const column = (f: (x: IdleFigures) => string): string => `| ${figures.map(f).join(' | ')} |`;
    const report = [
        `${IDLE} idle handovers per chat API, ${bench.db === 'postgres' ? 'PostgreSQL' : 'PGlite'}, one bridge process, run one after the other:`,
        '',
        `| measure | ${chats.map((c) => CHAT_LABEL[c]).join(' | ')} |`,
        `| --- | ${chats.map(() => '---').join(' | ')} |`,
        `| chat streams open on the emulator ${column((x) => String(x.streams))}`,
        `| RSS per handover (target ≤ ${TARGET.idleKb} KB) ${column((x) => `${x.rssKb.toFixed(1)} KB`)}`,
        `| JavaScript heap per handover ${column((x) => `${x.heapKb.toFixed(1)} KB`)}`,
        `| bridge CPU while idle (target ≤ ${TARGET.idleCpu} % of a core) ${column((x) => `${x.cpu.toFixed(1)} %`)}`,
        `| opening them (requested, routed, accepted) ${column((x) => `${x.openSeconds.toFixed(1)} s`)}`,
        ''
    ].map((line) => line.replace(/^\| ([^|]+) \| /, '| $1 | '));
    console.log(['', '### Idle handovers by chat API', '', ...report].join('\n'));
    if (bench.write) {
        const command = `BENCH_IDLE=${IDLE} BENCH_IDLE_SECONDS=${IDLE_SECONDS} npm run bench:handover -- ${[...optionFlags(bench), `--chat ${chats.join(',')}`, '--scenario idle'].join(' ')}`;
        writeBenchmarkSection(
            `handover:${bench.db}:${chats.join('-')}:idle-compare`,
            [`Command: \`${command}\``, '', ...report].join('\n'),
            `### Idle handovers by chat API, ${bench.db}: ${chats.join(' vs ')}`
        );
    }
}

async function main(): Promise<void> {
    if (CHAT_ARG.includes(',')) {
        const chats = CHAT_ARG.split(',').map((c) => c.trim());
        if (SCENARIO !== 'idle' || !chats.every((c): c is ChatApi => ['enhanced', 'legacy', 'byoc'].includes(c))) {
            throw new Error('--chat with several APIs (e.g. enhanced,byoc) takes --scenario idle');
        }
        await compareIdle(chats);
        return;
    }
    const bench = benchOptions();
    if (!['relay', 'idle', 'all'].includes(SCENARIO)) throw new Error('--scenario takes relay, idle or all');
    if (!['enhanced', 'legacy', 'byoc'].includes(CHAT_ARG)) throw new Error('--chat takes enhanced, legacy or byoc');
    if (CHAT === 'byoc' && SCENARIO !== 'idle') throw new Error('--chat byoc takes --scenario idle');
    const relayScenario = SCENARIO !== 'idle';
    const idleScenario = SCENARIO !== 'relay';
    const children: Child[] = [];
    const database = await benchDatabase(bench, 'handover');
    const profileDir = bench.cpuProf ? await mkdtemp(path.join(os.tmpdir(), 'bench-handover-prof-')) : undefined;
    const lines: string[] = [];
    const log = (...more: string[]): void => {
        lines.push(...more);
        console.log(more.join('\n'));
    };
    const progress = (text: string): void => console.error(`bench: ${text}`);
    const phases: PhaseStats[] = [];
    let profileWindow: { fromUs: number; toUs: number; phase: string } | undefined;
    const bridgeNames: string[] = [];
    const targets: string[] = [];

    try {
        const haptik = await forkChild<{ url: string }>('emulator: Haptik', 'bench-emulator-process.js', ['haptik']);
        children.push(haptik.child);
        const world = await forkChild<World>('emulators: Salesforce + chat', 'bench-emulator-process.js', [
            'salesforce',
            JSON.stringify({ haptikUrl: haptik.ready.url })
        ]);
        children.push(world.child);
        const noop = relayScenario
            ? await forkChild<{ url: string }>('no-op HTTP server', 'bench-emulator-process.js', ['noop'])
            : undefined;
        if (noop) children.push(noop.child);
        const sf = world.child;
        const hp = haptik.child;

        const options: BridgeProcessOptions = {
            env: {
                ...sandboxEnv(world.ready.salesforceUrl, haptik.ready.url),
                SF_SCRT_URL: world.ready.chatUrl,
                ...(CHAT === 'legacy'
                    ? {
                          SF_CHAT_API: 'legacy',
                          SF_LIVEAGENT_URL: world.ready.liveAgentEndpoint,
                          SF_LIVEAGENT_DEPLOYMENT_ID: SANDBOX_LIVE_AGENT.deploymentId,
                          SF_LIVEAGENT_BUTTON_ID: SANDBOX_LIVE_AGENT.buttonId
                      }
                    : {}),
                ...(CHAT === 'byoc' ? world.ready.byocEnv : {}),
                ...database.env
            },
            mapping: {
                handover: {
                    noAgentTimeoutSeconds: 86400,
                    waitNoticeIntervalSeconds: 3600,
                    recentMessages: 0,
                    routingAttributes: { Haptik_Conversation: 'conversationKey' }
                }
            },
            ...(database.schema === undefined ? {} : { databaseSchema: database.schema }),
            // The relay polls often (jobs queued behind a running one of their key wait for a poll); the idle
            // scenario alone runs the product's default poll (1 s), as an idle production bridge does.
            outbox: { pollIntervalMs: relayScenario ? 200 : 1000, concurrency: OUTBOX_CONCURRENCY },
            chatTuning: { tokenRatePerMinute: 100_000, messageRatePerMinute: 100_000 },
            logLevel: 'error',
            countStatements: true
        };
        const bridges = await startBridges(bench.instances, options, bench, profileDir);
        children.push(...bridges);
        bridgeNames.push(...bridges.map((b) => b.name));
        let next = 0;
        const nextUrl = (): string => bridges[next++ % bridges.length]!.url;
        const signedPost = (url: string, body: unknown): Promise<number> => {
            const raw = JSON.stringify(body);
            return httpPost(url, raw, { [SIGNATURE_HEADERS.sha1]: signHaptikBody(c.webhookSecret, raw, 'sha1') });
        };

        const monitor = new ProcessMonitor(database.postgresProcesses);
        monitor.add({ name: 'load generator (this process)', role: 'generator', pid: process.pid, self: true });
        monitorChildren(
            monitor,
            'emulator',
            children.filter((x) => !bridges.includes(x as (typeof bridges)[number]))
        );
        monitorChildren(monitor, 'bridge', bridges);
        const phase = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
            await monitor.start(name);
            const result = await run();
            phases.push(await monitor.stop());
            return result;
        };
        await sleep(1000);
        /** The bridges' memory before the first handover opens (after a full GC: PGlite's start-up garbage goes). */
        let startMemory: Memory | undefined;
        log(
            `Date: ${new Date().toISOString()}; ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'cpu'}), node ${process.version}; load average at start ${os
                .loadavg()
                .map((x) => x.toFixed(1))
                .join(' ')}`,
            `Database: ${database.label}; bridge instances: ${bench.instances}; chat API: ${CHAT_LABEL[CHAT]}`,
            ''
        );

        /** Opens `count` handovers (users `${prefix}-i`) and lets agents accept them; returns chat id → user id. */
        const openHandovers = async (prefix: string, count: number): Promise<Map<string, string>> => {
            startMemory ??= await collectedMemory(bridges);
            const before = await hp.call<number>('count', { path: '/tract/events/send' });
            await inBatches(count, OPEN_CONCURRENCY, async (i) => {
                const status = await signedPost(
                    `${nextUrl()}/haptik/integrations/handover`,
                    integrationRequest({ userId: `${prefix}-${i}`, userName: `${prefix}_${i}`, node: 'talk_to_agent' })
                );
                if (status !== 200) throw new Error(`handover answered ${status}`);
            });
            const mine = await until(
                async () => {
                    const all = (
                        await sf.call<Array<{ conversationId: string; status: string; key?: string }>>(
                            'conversations',
                            { chat: CHAT }
                        )
                    ).filter((x) => x.status === 'Waiting' && (x.key ?? '').split(':')[1]?.startsWith(`${prefix}-`));
                    return all.length >= count ? all : undefined;
                },
                60 * 60_000,
                `${count} chats to be created`
            );
            const userOf = new Map(mine.map((x) => [x.conversationId, (x.key ?? '').split(':')[1] ?? '']));
            const ids = [...userOf.keys()];
            for (let i = 0; i < ids.length; i += 500) {
                await sf.call('accept', {
                    chat: CHAT,
                    items: ids.slice(i, i + 500).map((id, k) => [id, `Agent ${(i + k) % 50}`])
                });
            }
            await until(
                async () =>
                    (await hp.call<number>('count', { path: '/tract/events/send' })) - before >= count
                        ? true
                        : undefined,
                60 * 60_000,
                'every agent join to reach Haptik'
            );
            return userOf;
        };

        let openUsers = new Map<string, string>();
        if (relayScenario) {
            // ---- direct: the two hops without the bridge
            progress('measuring the direct hops');
            const directPost =
                CHAT === 'legacy' ? await directLiveAgentChat(world.ready, sf) : await directEnhancedChat(world.ready);
            const directCount = Math.max(200, Math.round(RATE * BASELINE_SECONDS));
            const directDue = new Map<string, number>();
            const directToHaptik: string[] = [];
            const directLoop = await phase('direct', () =>
                openLoop(
                    directCount,
                    RATE,
                    async (i, due) => {
                        const text = `d${i}`;
                        directDue.set(text, due);
                        if (i % 2 === 0) directToHaptik.push(text);
                        else await directPost.send(text);
                    },
                    () => {
                        if (directToHaptik.length > 0) sf.notify('directToHaptik', { items: directToHaptik.splice(0) });
                    }
                )
            );
            const directToUser = (await collectHaptik(hp, directDue, Math.ceil(directCount / 2))).latencies;
            const directToAgent = (
                await collectUserMessages(sf, [directPost.conversationId], directDue, Math.floor(directCount / 2))
            ).latencies;
            await hp.call('reset');

            // ---- the ack baseline: the same signed requests to a server that does nothing
            progress('measuring the ack baseline (no-op server)');
            const ackCount = Math.max(100, Math.round((RATE / 2) * BASELINE_SECONDS));
            const noopAck: number[] = [];
            await phase('ack baseline (no-op server)', () =>
                openLoop(ackCount, RATE / 2, async (i, due) => {
                    await signedPost(
                        noop!.ready.url,
                        tractMessage({ userId: `bench-${i % 100}`, messageId: 1 + i, text: `u${i}` })
                    );
                    noopAck.push(epochNow() - due);
                })
            );

            // ---- open ACTIVE handovers
            progress(`opening ${ACTIVE} handovers`);
            const openStarted = performance.now();
            openUsers = await phase('open', () => openHandovers('bench', ACTIVE));
            log(
                `open: ${ACTIVE} handovers requested, routed and accepted in ${((performance.now() - openStarted) / 1000).toFixed(1)} s`
            );
            await hp.call('reset');

            // ---- relay both ways
            progress('relaying');
            const ids = [...openUsers.keys()];
            const relayCount = Math.round(RATE * SECONDS);
            const ack: number[] = [];
            const toAgentDue = new Map<string, number>();
            const toUserDue = new Map<string, number>();
            const agentBatch: Array<[string, string]> = [];
            let failures = 0;
            let messageId = 1_000_000;
            const statementsBefore = await dbStatements(bridges);
            const cpuBefore = bridgeCpuTicks(bridges);
            const fromUs = monotonicUs();
            const relay = await phase('relay', () =>
                openLoop(
                    relayCount,
                    RATE,
                    async (i, due) => {
                        const conv = ids[i % ids.length]!;
                        if (i % 2 === 0) {
                            const text = `u${i}`;
                            toAgentDue.set(text, due);
                            const status = await signedPost(
                                `${nextUrl()}/haptik/tract/message`,
                                tractMessage({ userId: openUsers.get(conv)!, messageId: messageId++, text })
                            ).catch(() => 0);
                            ack.push(epochNow() - due);
                            if (status !== 200) {
                                failures += 1;
                                toAgentDue.delete(text);
                            }
                        } else {
                            const text = `a${i}`;
                            toUserDue.set(text, due);
                            agentBatch.push([conv, text]);
                        }
                    },
                    () => {
                        if (agentBatch.length > 0)
                            sf.notify('agentMessages', { chat: CHAT, items: agentBatch.splice(0) });
                    }
                )
            );
            profileWindow = { fromUs, toUs: monotonicUs(), phase: `relay (${SECONDS} s at ${RATE} msg/s)` };
            progress(`relay sent (${failures} failures), collecting receipts`);
            const toUser = await collectHaptik(hp, toUserDue, toUserDue.size);
            const toAgent = await collectUserMessages(sf, ids, toAgentDue, toAgentDue.size);
            // Once every message arrived, let the last completions be written before counting.
            await sleep(500);
            const statements = (await dbStatements(bridges)) - statementsBefore;
            // CPU time (not wall time), so a figure that other load on a shared machine skews little.
            const cpuMs = (bridgeCpuTicks(bridges) - cpuBefore) * 10;

            const relayPhase = phases.at(-1)!;
            const lag = p(relay.sendLag);
            const achieved = (count: number, lastAt: number, firstDue: number): string =>
                lastAt > firstDue ? ((count / (lastAt - firstDue)) * 1000).toFixed(0) : 'n/a';
            const firstDue = relay.t0;
            log(
                `relay: ${relayCount} messages offered at ${RATE}/s over ${SECONDS} s with ${ids.length} open handovers; ${failures} failed acks`,
                `- generator: sent late by p50 ${fmtMs(lag.p50)} / p99 ${fmtMs(lag.p99)} / max ${fmtMs(lag.max)} (its own lag: above a few ms the generator, not the bridge, set the pace)`,
                `- database statements (BEGIN and COMMIT included, background work such as polls and heartbeats too): ${statements} for ${relayCount} messages = ${(statements / relayCount).toFixed(2)} per message, ${((2 * statements) / relayCount).toFixed(1)} per user/agent message pair`,
                `- bridge CPU from the first send until the last receipt: ${(cpuMs / 1000).toFixed(1)} s = ${(cpuMs / relayCount).toFixed(2)} ms per message${database.postgresProcesses === undefined ? ' (the embedded database included)' : ''}`,
                `- delivered user → agent: ${toAgent.latencies.length} of ${relayCount / 2} at ${achieved(toAgent.latencies.length, toAgent.lastAt, firstDue)}/s; agent → user: ${toUser.latencies.length} of ${relayCount / 2} at ${achieved(toUser.latencies.length, toUser.lastAt, firstDue)}/s (offered ${RATE / 2}/s each way)`,
                ''
            );
            const rows: Array<[string, number[], number[]]> = [
                ['user → agent (end to end)', toAgent.latencies, directToAgent],
                ['agent → user (end to end)', toUser.latencies, directToUser],
                ['Haptik request acknowledged (TRACT message → 200) vs no-op server', ack, noopAck]
            ];
            log(
                '| path | bridge p50 | bridge p99 | baseline p50 | baseline p99 | added p50 | added p99 |',
                '| --- | --- | --- | --- | --- | --- | --- |'
            );
            const added: number[] = [];
            for (const [name, bridged, base] of rows) {
                const b = p(bridged);
                const d = p(base);
                added.push(b.p99 - d.p99);
                log(
                    `| ${name} | ${fmtMs(b.p50)} | ${fmtMs(b.p99)} | ${fmtMs(d.p50)} | ${fmtMs(d.p99)} | ${fmtMs(b.p50 - d.p50)} | ${fmtMs(b.p99 - d.p99)} |`
                );
            }
            log(
                '',
                `Baselines: direct ran ${directLoop.sendLag.length} messages at ${RATE}/s (generator lag p99 ${fmtMs(p(directLoop.sendLag).p99)}); the no-op ack baseline ${ackCount} requests at ${RATE / 2}/s.`,
                ''
            );
            const atLoad =
                ACTIVE >= TARGET.handovers && RATE >= TARGET.rate
                    ? ''
                    : ` (at ${ACTIVE} handovers and ${RATE} msg/s, not the target's ${TARGET.handovers} and ${TARGET.rate})`;
            const reasons = [
                ...invalidity(relayPhase),
                ...(lag.p99 > MAX_SEND_LAG_MS
                    ? [`the generator sent p99 ${fmtMs(lag.p99)} late (> ${MAX_SEND_LAG_MS} ms)`]
                    : [])
            ];
            if (reasons.length > 0) log(`**Relay not valid for judging the bridge:** ${reasons.join('; ')}.`, '');
            const judged = (ok: boolean): string =>
                (reasons.length === 0 ? verdict(ok) : 'not judged: run invalid') + atLoad;
            targets.push(
                `| relay added p99, user → agent | ≤ ${TARGET.relayP99} ms | ${fmtMs(added[0]!)} | ${judged(added[0]! <= TARGET.relayP99)} |`,
                `| relay added p99, agent → user | ≤ ${TARGET.relayP99} ms | ${fmtMs(added[1]!)} | ${judged(added[1]! <= TARGET.relayP99)} |`,
                `| Haptik ack p99 (added over the no-op server; raw ${fmtMs(p(ack).p99)}) | ≤ ${TARGET.ackP99} ms | ${fmtMs(added[2]!)} | ${judged(added[2]! <= TARGET.ackP99)} |`
            );

            // ---- idle with the relay's handovers open
            await sleep(3000);
            await phase(`idle, ${ACTIVE} handovers`, () => sleep(IDLE_SECONDS * 1000));
            const idleRow = phases.at(-1)!.rows.filter((r) => r.role === 'bridge');
            log(
                `idle with ${ACTIVE} open handovers: bridge CPU ${idleRow.map((r) => `${r.cpuPercent.toFixed(1)} %`).join(' + ')} of one core; RSS ${((await collectedMemory(bridges)).rssKb / 1024).toFixed(0)} MB (${((startMemory?.rssKb ?? 0) / 1024).toFixed(0)} MB before the first handover)`,
                ''
            );
        }

        if (idleScenario) {
            // ---- many idle handovers in one process: memory and idle CPU
            const more = Math.max(0, IDLE - openUsers.size);
            progress(`opening ${more} more handovers for the idle measurement`);
            const before = await collectedMemory(bridges);
            startMemory ??= before;
            const started = performance.now();
            await phase(`open ${more} more`, () => openHandovers('idle', more));
            log(
                `open: ${more} more handovers requested, routed and accepted in ${((performance.now() - started) / 1000).toFixed(1)} s`
            );
            await sleep(3000);
            const fromUs = monotonicUs();
            const kindsBefore = await dbStatementKinds(bridges);
            await phase(`idle, ${IDLE} handovers`, () => sleep(IDLE_SECONDS * 1000));
            const idleStatements = statementKindsSince(kindsBefore, await dbStatementKinds(bridges));
            profileWindow ??= { fromUs, toUs: monotonicUs(), phase: `idle with ${IDLE} handovers` };
            const after = await collectedMemory(bridges);
            const cpu = phases
                .at(-1)!
                .rows.filter((r) => r.role === 'bridge')
                .reduce((sum, r) => sum + r.cpuPercent, 0);
            const rssAtStart = startMemory?.rssKb ?? before.rssKb;
            const rssPer = (after.rssKb - rssAtStart) / IDLE;
            const rssMore = more > 0 ? (after.rssKb - before.rssKb) / more : Number.NaN;
            const heapPer = more > 0 ? (after.heapKb - before.heapKb) / more : Number.NaN;
            const streams = await sf.call<number>('openStreams', { chat: CHAT });
            log(
                `idle with ${IDLE} open handovers (chat ${CHAT === 'legacy' ? 'long polls' : 'streams'} open on the emulator: ${streams}): bridge RSS ${(after.rssKb / 1024).toFixed(0)} MB (${(rssAtStart / 1024).toFixed(0)} MB before the first handover) = ${rssPer.toFixed(1)} KB per handover; the last ${more} opened added ${rssMore.toFixed(1)} KB RSS and ${heapPer.toFixed(1)} KB of JavaScript heap each; CPU ${cpu.toFixed(1)} % of one core`,
                ''
            );
            const idleTotal = idleStatements.reduce((sum, [, n]) => sum + n, 0);
            log(
                `database statements while idle: ${(idleTotal / IDLE_SECONDS).toFixed(1)}/s; the most frequent:`,
                '',
                '| statement (first 100 characters) | per second |',
                '| --- | --- |',
                ...idleStatements
                    .slice(0, 8)
                    .map(([sql, n]) => `| \`${sql.replace(/\|/g, '\\|')}\` | ${(n / IDLE_SECONDS).toFixed(1)} |`),
                ''
            );
            const atLoad =
                IDLE >= TARGET.idleHandovers && bench.instances === 1
                    ? ''
                    : ` (at ${IDLE} handovers on ${bench.instances} process(es), not the target's ${TARGET.idleHandovers} in one)`;
            targets.push(
                `| idle handovers: RSS per handover | ≤ ${TARGET.idleKb} KB | ${rssPer.toFixed(1)} KB | ${verdict(rssPer <= TARGET.idleKb)}${atLoad} |`,
                `| idle handovers: bridge CPU | ≤ ${TARGET.idleCpu} % of one core | ${cpu.toFixed(1)} % | ${verdict(cpu <= TARGET.idleCpu)}${atLoad} |`
            );
        }

        log(
            '### Targets (issue 17)',
            '',
            '| measure | target | this run | verdict |',
            '| --- | --- | --- | --- |',
            ...targets,
            '',
            '### Processes per phase',
            '',
            ...formatPhaseMatrix(phases)
        );
        const main = phases.find((x) => x.phase === 'relay') ?? phases.at(-1);
        if (main) log(...formatPhase(main));
    } finally {
        // A graceful stop lets --cpu-prof write the bridges' profiles.
        for (const child of children.reverse()) await child.stop();
        await database.close();
    }
    if (profileDir !== undefined && profileWindow !== undefined) {
        log('### Where the time goes', '', ...profileSections(bridgeNames, profileDir, profileWindow));
    }

    if (bench.write) {
        const flags = [
            ...optionFlags(bench),
            ...(CHAT === 'enhanced' ? [] : [`--chat ${CHAT}`]),
            `--scenario ${SCENARIO}`
        ];
        const id = `handover:${bench.db}:${CHAT}:i${bench.instances}:${SCENARIO}`;
        const command = `BENCH_ACTIVE=${ACTIVE} BENCH_IDLE=${IDLE} BENCH_RATE=${RATE} BENCH_SECONDS=${SECONDS} BENCH_OUTBOX_CONCURRENCY=${OUTBOX_CONCURRENCY} npm run bench:handover -- ${flags.join(' ')}`;
        writeBenchmarkSection(
            id,
            [`Command: \`${command}\``, '', ...lines].join('\n'),
            `### Handover, ${bench.db}, ${CHAT} chat, ${bench.instances} instance(s), scenario ${SCENARIO}`
        );
    }
}

interface Memory {
    rssKb: number;
    heapKb: number;
}

/** The bridges' RSS and JavaScript heap in use, summed, each taken after a full garbage collection. */
async function collectedMemory(bridges: readonly Child[]): Promise<Memory> {
    await Promise.all(bridges.map((b) => askStats(b.child, 30_000, true)));
    // V8 hands freed pages back to the system a little after the collection.
    await sleep(1000);
    const stats = await Promise.all(bridges.map((b) => askStats(b.child)));
    return {
        rssKb: stats.reduce((sum, s) => sum + (s?.rss ?? 0), 0) / 1024,
        heapKb: stats.reduce((sum, s) => sum + (s?.heapUsed ?? 0), 0) / 1024
    };
}

/** CPU ticks (10 ms) the bridge processes used so far, summed. */
function bridgeCpuTicks(bridges: readonly Child[]): number {
    return bridges.reduce((sum, b) => sum + (procTimes(b.child.pid!)?.ticks ?? 0), 0);
}

/** The bridges' statements so far by statement text, summed over the bridges. */
async function dbStatementKinds(bridges: readonly Child[]): Promise<Map<string, number>> {
    const stats = await Promise.all(bridges.map((b) => askStats(b.child, 30_000)));
    const kinds = new Map<string, number>();
    for (const s of stats)
        for (const [sql, n] of Object.entries(s?.dbStatementKinds ?? {})) kinds.set(sql, (kinds.get(sql) ?? 0) + n);
    return kinds;
}

/** What was sent between two readings of dbStatementKinds, most frequent first. */
function statementKindsSince(before: Map<string, number>, after: Map<string, number>): Array<[string, number]> {
    return [...after]
        .map(([sql, n]): [string, number] => [sql, n - (before.get(sql) ?? 0)])
        .filter(([, n]) => n > 0)
        .sort((a, b) => b[1] - a[1]);
}

/** Database statements the bridges sent so far, summed (each counts them: BridgeProcessOptions.countStatements). */
async function dbStatements(bridges: readonly Child[]): Promise<number> {
    const stats = await Promise.all(bridges.map((b) => askStats(b.child, 30_000)));
    return stats.reduce((sum, s) => sum + (s?.dbStatements ?? 0), 0);
}

/** Waits for `expected` of the texts in `due` to reach Haptik; latencies (receipt − due) and the last receipt. */
async function collectHaptik(
    haptik: Child,
    due: Map<string, number>,
    expected: number
): Promise<{ latencies: number[]; lastAt: number }> {
    const seen = new Map<string, number>();
    await until(
        async () => {
            for (const [text, at] of await haptik.call<Array<[string, number]>>('arrivals')) {
                if (due.has(text)) seen.set(text, at);
            }
            return seen.size >= expected ? true : undefined;
        },
        120_000,
        'messages to reach Haptik'
    ).catch((error: unknown) => console.error(`bench: ${String(error)} (${seen.size} of ${expected})`));
    return { latencies: [...seen].map(([text, at]) => at - due.get(text)!), lastAt: Math.max(0, ...seen.values()) };
}

/** Waits for `expected` of the texts in `due` to reach agents in `convs`. */
async function collectUserMessages(
    world: Child,
    convs: string[],
    due: Map<string, number>,
    expected: number
): Promise<{ latencies: number[]; lastAt: number }> {
    const seen = new Map<string, number>();
    await until(
        async () => {
            const all = await world.call<Array<[string, Array<[string, number]>]>>('userMessages', {
                chat: CHAT,
                convs
            });
            for (const [, messages] of all) {
                for (const [text, at] of messages) if (due.has(text)) seen.set(text, at);
            }
            return seen.size >= expected ? true : undefined;
        },
        120_000,
        'user messages to reach the agents'
    ).catch((error: unknown) => console.error(`bench: ${String(error)} (${seen.size} of ${expected})`));
    const latencies = [...seen].map(([text, at]) => at - due.get(text)!);
    return { latencies, lastAt: Math.max(0, ...seen.values()) };
}

/** Enhanced Chat's user → agent hop without the bridge: one message POST to the emulator. */
async function directEnhancedChat(
    world: World
): Promise<{ conversationId: string; send: (text: string) => Promise<void> }> {
    const token = JSON.parse(
        (
            await httpRequest(
                'POST',
                `${world.chatUrl}/iamessage/api/v2/authorization/unauthenticated/access-token`,
                JSON.stringify({
                    orgId: c.sfOrgId,
                    esDeveloperName: SANDBOX_ES_DEVELOPER_NAME,
                    capabilitiesVersion: '1',
                    platform: 'Web'
                })
            )
        ).body
    ) as { accessToken: string };
    const headers = { Authorization: `Bearer ${token.accessToken}` };
    const conversationId = crypto.randomUUID();
    await httpPost(
        `${world.chatUrl}/iamessage/api/v2/conversation`,
        JSON.stringify({ conversationId, esDeveloperName: SANDBOX_ES_DEVELOPER_NAME }),
        headers
    );
    return {
        conversationId,
        send: async (text) => {
            await httpPost(
                `${world.chatUrl}/iamessage/api/v2/conversation/${conversationId}/message`,
                JSON.stringify({
                    message: {
                        id: crypto.randomUUID(),
                        messageType: 'StaticContentMessage',
                        staticContent: { formatType: 'Text', text }
                    },
                    esDeveloperName: SANDBOX_ES_DEVELOPER_NAME
                }),
                headers
            );
        }
    };
}

/** Live Agent's user → agent hop without the bridge: one sequenced ChatMessage POST. */
async function directLiveAgentChat(
    world: World,
    sf: Child
): Promise<{ conversationId: string; send: (text: string) => Promise<void> }> {
    const rest = `${world.liveAgentEndpoint}/rest`;
    const version = { 'X-LIVEAGENT-API-VERSION': '64' };
    const session = JSON.parse(
        (
            await httpRequest('GET', `${rest}/System/SessionId`, undefined, {
                ...version,
                'X-LIVEAGENT-AFFINITY': 'null'
            })
        ).body
    ) as { id: string; key: string; affinityToken: string };
    const headers = (sequence: number): Record<string, string> => ({
        ...version,
        'X-LIVEAGENT-AFFINITY': session.affinityToken,
        'X-LIVEAGENT-SESSION-KEY': session.key,
        'X-LIVEAGENT-SEQUENCE': String(sequence)
    });
    let sequence = 1;
    await httpPost(
        `${rest}/Chasitor/ChasitorInit`,
        JSON.stringify({
            organizationId: c.sfOrgId,
            ...SANDBOX_LIVE_AGENT,
            sessionId: session.id,
            visitorName: 'direct',
            prechatDetails: [],
            prechatEntities: [],
            isPost: true
        }),
        headers(sequence)
    );
    await sf.call('accept', { chat: 'legacy', items: [[session.id, 'Direct']] });
    return {
        conversationId: session.id,
        send: async (text) => {
            sequence += 1;
            await httpPost(`${rest}/Chasitor/ChatMessage`, JSON.stringify({ text }), headers(sequence));
        }
    };
}

main().then(
    () => process.exit(0),
    (error: unknown) => {
        console.error(error);
        process.exit(1);
    }
);
