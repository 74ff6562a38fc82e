import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHaptikSender, integrationRequest } from '../test/emulators/haptik';
import { SANDBOX_CREDENTIALS, sandboxEnv, startEmulators } from '../test/emulators/sandbox';
import { dropSchema, testDatabaseUrl, uniqueSchemaName } from '../test/support/databases';
import { startBridgeProcess } from '../test/support/bridge-process-runner';

/**
 * `npm run bench:files` (issue 18): memory of the bridge while 50 chats each send a 5 MB file at once. The bridge
 * runs in a process of its own (dist/scripts/bridge-process.js, so its memory is its own); the emulators run here.
 * 50 handovers are opened and accepted, then every user sends a photo at the same moment: first a 5 KB one (the
 * baseline, same run), then a 5 MB one. The bridge downloads each from the Haptik emulator's asset host and streams
 * it into the Enhanced Chat conversation; the report gives the bridge's resident memory (sampled every 20 ms, and
 * the kernel's high-water mark) before, during the baseline and during each 5 MB wave, and checks every file
 * arrived whole (SHA-256). Files held whole in memory would add 50 × 5 MB = 250 MB to the peak.
 *
 * Options: `--chats N` (default 50), `--mb M` (default 5), `--waves W` (default 4 waves of M MB each). PostgreSQL (TEST_DATABASE_URL or BENCH_DATABASE_URL,
 * else postgres://postgres@127.0.0.1:5432/test) gives the outbox its 32 concurrent jobs; `--db pglite` runs
 * on the embedded database (4 at once).
 */
const ROOT = path.resolve(__dirname, '..', '..');

function arg(name: string): string | undefined {
    const i = process.argv.indexOf(name);
    return i < 0 ? undefined : process.argv[i + 1];
}

const CHATS = Number(arg('--chats') ?? 50);
const MB = Number(arg('--mb') ?? 5);
const PGLITE = arg('--db') === 'pglite';
const WAVES = Number(arg('--waves') ?? 4);

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 120_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = probe();
        if (value !== undefined && value !== false) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}

async function memoryOf(pid: number): Promise<{ rss: number; hwm: number }> {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function main(): Promise<void> {
    const emulators = await startEmulators({ enhancedChat: { files: { maxBytes: (MB + 1) * 1024 * 1024 } } });
    const { haptik, chat } = emulators;
    const databaseUrl = PGLITE
        ? undefined
        : (process.env['BENCH_DATABASE_URL'] ?? testDatabaseUrl() ?? 'postgres://postgres@127.0.0.1:5432/test');
    const schema = uniqueSchemaName();
    const database =
        databaseUrl === undefined
            ? { BRIDGE_DATA_DIR: await mkdtemp(path.join(tmpdir(), 'bench-files-')) }
            : { DATABASE_URL: databaseUrl };
    const bridge = await startBridgeProcess(path.join(ROOT, 'dist', 'scripts', 'bridge-process.js'), {
        env: {
            ...sandboxEnv(emulators.salesforce.url, haptik.url),
            SF_SCRT_URL: chat.url,
            BRIDGE_FILE_HOSTS: '127.0.0.1',
            BRIDGE_FILE_MAX_BYTES: String((MB + 1) * 1024 * 1024),
            ...database
        },
        mapping: { handover: { waitNoticeIntervalSeconds: 0, noAgentTimeoutSeconds: 600 } },
        ...(databaseUrl === undefined ? {} : { databaseSchema: schema }),
        outbox: { pollIntervalMs: 50 },
        chatTuning: {
            reconnect: { baseMs: 20, factor: 1.5, maxMs: 200 },
            retry: { attempts: 6, baseMs: 10, maxMs: 100 }
        }
    });
    const pid = bridge.child.pid!;
    const c = SANDBOX_CREDENTIALS;
    const send = createHaptikSender(bridge.url, { secret: c.webhookSecret, hookToken: c.hookToken }, haptik);
    let samples: number[] = [];
    const sampler = setInterval(() => {
        void memoryOf(pid).then(
            (m) => samples.push(m.rss),
            () => undefined
        );
    }, 20);
    try {
        const users = Array.from({ length: CHATS }, (_, i) => `bench-file-${i}`);
        const conversations = new Map<string, string>();
        for (const userId of users) {
            const reply = await send.handover(integrationRequest({ userId, userName: userId, node: 'talk_to_agent' }));
            if (reply.status !== 200) throw new Error(`handover answered ${reply.status}`);
            const id = (reply.body as { conversation_details: { handover_id: string } }).conversation_details
                .handover_id;
            const conversationId = await until(
                'the chat',
                () => chat.conversations().find((x) => x.conversationId === id.toLowerCase())?.conversationId
            );
            conversations.set(userId, conversationId);
            chat.accept(conversationId, 'Priya');
        }
        await until('every agent to join', () =>
            users.every((u) => haptik.messagesTo(u).some((m) => m.text.startsWith('You are now chatting')))
        );

        const wave = async (label: string, bytes: number, messageId: number, count: number) => {
            const data = Buffer.alloc(bytes, label);
            const url = haptik.addAsset(`${label}.jpg`, 'image/jpeg', data);
            const digest = createHash('sha256').update(data).digest('hex');
            samples = [];
            const before = await memoryOf(pid);
            const started = Date.now();
            await Promise.all(
                users.map((userId) =>
                    send.tractMessage({
                        user_id: userId,
                        message_id: messageId,
                        conversation_number: 1,
                        message_body: JSON.stringify({
                            text: '',
                            type: 'CAROUSEL',
                            data: { items: [{ thumbnail: { image: url }, title: `${label}.jpg`, actionables: [] }] }
                        }),
                        sender: 'ceu',
                        timestamp: new Date().toISOString(),
                        metadata: ''
                    })
                )
            );
            await until(`${label}: every file in its chat`, () =>
                users.every((u) => chat.filesFrom(conversations.get(u)!).length >= count)
            );
            const seconds = (Date.now() - started) / 1000;
            const whole = users.every((u) => chat.filesFrom(conversations.get(u)!)[count - 1]?.sha256 === digest);
            const after = await memoryOf(pid);
            const peak = Math.max(before.rss, ...samples);
            return { label, bytes, seconds, whole, before: before.rss, peak, after: after.rss, hwm: after.hwm };
        };
        const baseline = await wave('small', 5 * 1024, 9001, 1);
        // Several waves of the same size: memory that stays flat levels off instead of growing with each wave.
        const waves = [];
        for (let i = 0; i < WAVES; i++) waves.push(await wave(`big${i}`, Math.round(MB * 1_000_000), 9002 + i, 2 + i));
        const big = waves[0]!;
        const last = waves.at(-1)!;
        console.log(
            `bench:files: ${CHATS} chats, database ${databaseUrl === undefined ? 'pglite' : 'postgres'}, bridge pid ${pid}`
        );
        for (const r of [baseline, ...waves]) {
            console.log(
                `  ${CHATS} × ${r.bytes >= 1_000_000 ? `${r.bytes / 1_000_000} MB` : `${r.bytes / 1024} KB`}: ` +
                    `${((CHATS * r.bytes) / 1_000_000 / r.seconds).toFixed(1)} MB/s through the bridge in ${r.seconds.toFixed(1)} s, ` +
                    `every file whole: ${r.whole ? 'yes' : 'NO'}; bridge RSS before ${mib(r.before)}, peak ${mib(r.peak)}, after ${mib(r.after)}`
            );
        }
        console.log(
            `  peak RSS over the 5 KB baseline, per wave: ${waves.map((w) => mib(w.peak - baseline.peak)).join(', ')}; ` +
                `${mib(CHATS * big.bytes)} of files in each (kernel high-water mark at the end ${mib(last.hwm)})`
        );
        if (!baseline.whole || waves.some((w) => !w.whole)) process.exitCode = 1;
    } finally {
        clearInterval(sampler);
        await bridge.kill('SIGTERM');
        await emulators.close();
        if (databaseUrl !== undefined) await dropSchema(databaseUrl, schema);
    }
}

main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
