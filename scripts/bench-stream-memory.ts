/**
 * What one idle Enhanced Chat event stream costs the bridge (issue 17, memory): `node dist/scripts/bench-stream-memory.js`
 * (build first; BENCH_STREAMS, default 2000; BENCH_IDLE_SECONDS, default 10; BENCH_PING_MS, default 1000).
 *
 * The Salesforce and chat emulators run in a child process (bench-emulator-process); this process gets one guest
 * token per stream from the emulator, then opens BENCH_STREAMS of the bridge's own ChatStream objects (the reader
 * each handover holds while it waits for its agent) and measures, after a full garbage collection (run it with
 * `node --expose-gc`), the RSS and JavaScript heap they added, and this process's CPU while they idle with the
 * emulator pinging each stream every BENCH_PING_MS. The same script runs against another tree's build (the
 * baseline), so the two figures differ only by the stream code.
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { forkChild } from './bench-children';
import { silentLogger } from '../bridge/src/observability/logger';
import { createScrtClient } from '../bridge/src/salesforce/enhanced-chat/scrt-client';
import { ChatStream } from '../bridge/src/salesforce/enhanced-chat/sse-stream';
import type { HandoverSession, StreamDependencies } from '../bridge/src/salesforce/enhanced-chat/sse-stream';
import { SANDBOX_CREDENTIALS, SANDBOX_ES_DEVELOPER_NAME } from '../test/emulators/sandbox';

const STREAMS = Number(process.env['BENCH_STREAMS'] ?? 2000);
const IDLE_SECONDS = Number(process.env['BENCH_IDLE_SECONDS'] ?? 10);
const PING_MS = Number(process.env['BENCH_PING_MS'] ?? 1000);

function collected(): { rssKb: number; heapKb: number; externalKb: number } {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc === undefined) throw new Error('run with node --expose-gc');
    gc();
    gc();
    const usage = process.memoryUsage();
    return { rssKb: usage.rss / 1024, heapKb: usage.heapUsed / 1024, externalKb: usage.external / 1024 };
}

async function main(): Promise<void> {
    const world = await forkChild<{ chatUrl: string }>('emulators', 'bench-emulator-process.js', [
        'salesforce',
        JSON.stringify({ haptikUrl: 'http://127.0.0.1:9', pingIntervalMs: PING_MS })
    ]);
    try {
        const logger = silentLogger();
        const orgId = SANDBOX_CREDENTIALS.sfOrgId;
        const client = createScrtClient({
            scrtUrl: world.ready.chatUrl,
            orgId,
            esDeveloperName: SANDBOX_ES_DEVELOPER_NAME,
            logger,
            fetch,
            retry: { attempts: 3, baseMs: 50, maxMs: 500 },
            requestTimeoutMs: 10_000
        });
        const tokens: string[] = [];
        for (let i = 0; i < STREAMS; i += 50) {
            const batch = await Promise.all(
                Array.from({ length: Math.min(50, STREAMS - i) }, () => client.unauthenticatedToken())
            );
            tokens.push(...batch.map((t) => t.accessToken));
        }
        // Both the baseline's dependencies (fetch) and this tree's (the shared pool by default) are given.
        const deps = {
            scrtUrl: world.ready.chatUrl,
            orgId,
            fetch,
            logger,
            reconnect: { baseMs: 1000, factor: 1.5, maxMs: 30_000 },
            heartbeatTimeoutMs: 90_000,
            sink: () => () => Promise.resolve(),
            renewToken: () => Promise.resolve()
        } as unknown as StreamDependencies;
        await sleep(500);
        const before = collected();
        const streams = tokens.map((accessToken, i) => {
            const session: HandoverSession = {
                handoverId: `bench-${i}`,
                data: { accessToken, conversationId: `conv-${i}`, tokenExpiresAt: null },
                cursor: null,
                stateChanged: false
            };
            const stream = new ChatStream(deps, session);
            stream.start();
            return stream;
        });
        while (streams.some((s) => s.connections === 0)) await sleep(200);
        await sleep(2000);
        const open = collected();
        const cpuBefore = process.cpuUsage();
        const started = performance.now();
        await sleep(IDLE_SECONDS * 1000);
        const cpu = process.cpuUsage(cpuBefore);
        const cpuPercent = ((cpu.user + cpu.system) / 1000 / (performance.now() - started)) * 100;
        const perRss = (open.rssKb - before.rssKb) / STREAMS;
        const perHeap = (open.heapKb - before.heapKb) / STREAMS;
        const perExternal = (open.externalKb - before.externalKb) / STREAMS;
        process.stdout.write(
            [
                `Date: ${new Date().toISOString()}; ${os.cpus().length} cores, node ${process.version}; load average ${os
                    .loadavg()
                    .map((x) => x.toFixed(1))
                    .join(' ')}`,
                `${STREAMS} open event streams (emulator pings each every ${PING_MS} ms): RSS +${((open.rssKb - before.rssKb) / 1024).toFixed(1)} MB = ${perRss.toFixed(1)} KB per stream; JavaScript heap ${perHeap.toFixed(1)} KB and external memory (buffers, WebAssembly) ${perExternal.toFixed(1)} KB per stream; CPU while idle ${cpuPercent.toFixed(1)} % of one core (${IDLE_SECONDS} s)`,
                ''
            ].join('\n')
        );
        await Promise.all(streams.map((s) => s.stop()));
    } finally {
        await world.child.stop();
    }
    process.exit(0);
}

main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
});
