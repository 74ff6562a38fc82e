/**
 * An emulator in a process of its own for the benchmarks (started by bench-children's forkChild), so its work
 * neither slows the load generator nor counts as the bridge's. `node bench-emulator-process.js <role> [json]`:
 *
 *   salesforce  the Salesforce emulator with the Enhanced Chat, Live Agent and BYOC emulators (they keep their
 *               MessagingSession and transcript records in it, so they share its process; the BYOC bridge's
 *               environment comes back in `ready`, as its JWT key pair is this process's); `{ seedLookup: n }`
 *               seeds n contacts and n/6 leads for the lookup benchmark, as an administrator rather than the
 *               integration user
 *   haptik      the Haptik emulator, timing each message it receives as it records the call
 *   noop        an HTTP server that reads the body and answers 200 `{}`: the cost of one request from the generator
 *
 * The parent sends `{ rpc, cmd, args }` and gets `{ rpc, result }` or `{ rpc, error }`; `{ cmd, args }` without
 * rpc is not answered (agent messages at the relay rate). Every role answers bench-process-stats' `benchStats`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveBenchStats } from './bench-process-stats';
import { httpPost, httpRequest } from './bench-load';
import { signTokenRequest, tokenFromAnswer } from '../bridge/src/haptik/tract-auth';
import { textHsl } from '../bridge/src/haptik/hsl';
import { startHaptikEmulator, testCertificate } from '../test/emulators/haptik';
import type { RecordedCall } from '../test/emulators/haptik';
import { SANDBOX_CREDENTIALS, byocEnv, startEmulators } from '../test/emulators/sandbox';
import type { ChatApi } from '../test/emulators/sandbox';
import { startSalesforceEmulator } from '../test/emulators/salesforce';
import type { AgentConsole } from '../test/emulators/agent-console';

type Handler = (args: never) => unknown;
const c = SANDBOX_CREDENTIALS;

function serveCommands(commands: Record<string, Handler>): void {
    process.on('message', (message: unknown) => {
        if (typeof message !== 'object' || message === null || !('cmd' in message)) return;
        const { rpc, cmd, args } = message as { rpc?: number; cmd: string; args?: unknown };
        const handler = commands[cmd];
        void Promise.resolve()
            .then(() => {
                if (handler === undefined) throw new Error(`unknown command ${cmd}`);
                return handler(args as never);
            })
            .then(
                (result) => {
                    if (rpc !== undefined) process.send?.({ rpc, result: result ?? null });
                },
                (error: unknown) => {
                    if (rpc !== undefined) process.send?.({ rpc, error: String(error) });
                    else console.error(`bench emulator: ${cmd} failed: ${String(error)}`);
                }
            );
    });
}

/** Seeded phones for the lookup benchmark, in the formats people type; all national numbers are distinct. */
export function seededPhone(i: number): { stored: string; national: string } {
    const national = `415${String(1_000_000 + i).slice(1)}`;
    const [a, b, d] = [national.slice(0, 3), national.slice(3, 6), national.slice(6)];
    const formats = [`(${a}) ${b}-${d}`, `+1 ${a} ${b} ${d}`, national, `${a}.${b}.${d}`];
    return { stored: formats[i % formats.length] ?? national, national };
}

async function serveLookupSalesforce(contacts: number): Promise<void> {
    const salesforce = await startSalesforceEmulator({
        clientId: c.sfClientId,
        clientSecret: c.sfClientSecret,
        orgId: c.sfOrgId
    });
    const phones: string[] = [];
    for (let i = 0; i < contacts; i++) {
        const { stored, national } = seededPhone(i);
        phones.push(national);
        salesforce.insert('Contact', {
            FirstName: `First${i}`,
            LastName: `Last${i}`,
            Email: `person${i}@bench.example`,
            [i % 2 === 0 ? 'Phone' : 'MobilePhone']: stored
        });
    }
    for (let i = 0; i < contacts / 6; i++) {
        salesforce.insert('Lead', {
            LastName: `Lead${i}`,
            Company: `Company ${i}`,
            Email: `lead${i}@bench.example`,
            Phone: `+1 650 555 ${String(1000 + i).slice(-4)}`
        });
    }
    serveCommands({ apiCalls: () => salesforce.apiCalls });
    process.send?.({ ready: { url: salesforce.url, phones } });
}

/** A TRACT token from the Haptik emulator's signed issue route, with the sandbox's TRACT credentials. */
async function issueTractToken(haptikUrl: string): Promise<string> {
    const now = new Date();
    const request = signTokenRequest(
        {
            clientId: c.tractClientId,
            fqdn: c.tractFqdn,
            privateKey: testCertificate('ect-ec.key'),
            certificate: { uuid: c.tractCertUuid }
        },
        haptikUrl,
        now
    );
    const answer = await httpRequest('POST', request.url, request.body, request.headers);
    if (answer.status !== 200) throw new Error(`TRACT token issue answered ${answer.status}`);
    return tokenFromAnswer(JSON.parse(answer.body), now).token;
}

async function serveWorld(options: { haptikUrl: string; pingIntervalMs?: number }): Promise<void> {
    // startEmulators also starts a Haptik emulator here; the bridges are pointed at the one in its own process.
    const world = await startEmulators({
        enhancedChat: {
            limits: { tokensPerWindow: 100_000, messagesPerWindow: 100_000 },
            ...(options.pingIntervalMs === undefined ? {} : { pingIntervalMs: options.pingIntervalMs })
        }
    });
    const consoles: Record<ChatApi, AgentConsole> = {
        enhanced: world.chat,
        legacy: world.liveAgent,
        byoc: world.byoc.interactions
    };
    // Issued ahead, so the direct phase's first messages do not wait for it (the phase runs first, well within its life).
    const tractBearer = issueTractToken(options.haptikUrl);
    tractBearer.catch((error: unknown) => console.error(`bench emulator: TRACT token: ${String(error)}`));
    serveCommands({
        conversations: ({ chat }: { chat: ChatApi }) =>
            consoles[chat].conversations().map((x) => ({
                conversationId: x.conversationId,
                status: x.status,
                key:
                    x.conversationKey ??
                    (typeof x.routingAttributes['Haptik_Conversation'] === 'string'
                        ? x.routingAttributes['Haptik_Conversation']
                        : undefined)
            })),
        accept: ({ chat, items }: { chat: ChatApi; items: Array<[string, string]> }) => {
            for (const [conv, agent] of items) consoles[chat].accept(conv, agent);
        },
        agentMessages: ({ chat, items }: { chat: ChatApi; items: Array<[string, string]> }) => {
            for (const [conv, text] of items) consoles[chat].agentMessage(conv, text);
        },
        /**
         * The agent → user hop without the bridge: this process posts straight to the Haptik emulator, with a
         * TRACT token issued once as the bridge's is (the emulator refuses TRACT calls without one).
         */
        directToHaptik: async ({ items }: { items: string[] }) => {
            const headers = { 'client-id': c.haptikClientId, Authorization: `Bearer ${await tractBearer}` };
            for (const text of items) {
                void httpPost(
                    `${options.haptikUrl}/tract/message/send/`,
                    JSON.stringify({
                        user_id: 'direct',
                        message_body: textHsl(text),
                        sender: 'aeu',
                        metadata: { message_id: text }
                    }),
                    headers
                ).catch((error: unknown) => console.error(`bench emulator: direct post failed: ${String(error)}`));
            }
        },
        /** What users sent, per conversation: [text, epoch ms received][]. */
        userMessages: ({ chat, convs }: { chat: ChatApi; convs: string[] }) =>
            convs.map((conv) => [conv, consoles[chat].messagesFrom(conv).map((m) => [m.text, m.at])]),
        openStreams: ({ chat }: { chat: ChatApi }) =>
            chat === 'enhanced'
                ? world.chat.stats.activeStreams
                : chat === 'byoc'
                  ? world.byoc.pubsub.stats.activeSubscriptions
                  : world.liveAgent.conversations().filter((x) => x.status !== 'Ended').length,
        caseKeys: ({ field }: { field: string }) => world.salesforce.records('Case').map((r) => String(r[field])),
        caseCount: () => world.salesforce.records('Case').length,
        hasCase: ({ field, key }: { field: string; key: string }) =>
            world.salesforce.records('Case').some((r) => r[field] === key),
        caseFieldLengths: ({ field }: { field: string }) =>
            world.salesforce.records('Case').map((r) => {
                const v = r[field];
                return typeof v === 'string' ? v.length : 0;
            }),
        apiCalls: () => world.salesforce.apiCalls,
        resetSalesforce: () => world.salesforce.reset()
    });
    process.send?.({
        ready: {
            salesforceUrl: world.salesforce.url,
            chatUrl: world.chat.url,
            liveAgentUrl: world.liveAgent.url,
            liveAgentEndpoint: world.liveAgent.endpoint,
            byocEnv: byocEnv(world.byoc)
        }
    });
}

async function serveHaptik(): Promise<void> {
    // Issues TRACT tokens as the sandbox does (sandboxEnv gives the bridge the HAPTIK_TRACT_* variables).
    const haptik = await startHaptikEmulator({
        clientId: c.haptikClientId,
        apiToken: c.haptikApiToken,
        businessId: c.haptikBusinessId,
        tract: {
            clientIds: [c.tractClientId],
            fqdn: c.tractFqdn,
            certificates: { [c.tractCertUuid]: testCertificate('ect-ec.crt') }
        }
    });
    const counts = new Map<string, number>();
    let arrivals: Array<[string, number]> = [];
    // Times each call as the emulator records it: a waiter that never matches sees every call once, at once
    // (polling the call log would add its interval to every latency and cost this process a scan per tick).
    const observe = (call: RecordedCall): false => {
        counts.set(call.path, (counts.get(call.path) ?? 0) + 1);
        if (call.path === '/tract/message/send/' && call.status === 200) {
            const body = (call.body as { message_body?: unknown } | undefined)?.message_body;
            const text = /"text":"([^"]*)"/.exec(String(body))?.[1];
            if (text !== undefined) arrivals.push([text, Date.now()]);
        }
        return false;
    };
    const watch = (): void => {
        haptik.waitFor(observe, 2 ** 31 - 1).catch(() => undefined);
    };
    watch();
    serveCommands({
        count: ({ path }: { path: string }) => counts.get(path) ?? 0,
        /** Messages received since the last call: [text, epoch ms][] (and forgets them). */
        arrivals: () => {
            const out = arrivals;
            arrivals = [];
            return out;
        },
        setChatHistory: ({
            items
        }: {
            items: Array<[string, number, Array<{ text: string; sender: string; message_id: number; at: string }>]>;
        }) => {
            // Dates cross IPC as ISO strings; the emulator formats a Date the way Haptik does.
            for (const [userName, no, entries] of items) {
                haptik.setChatHistory(
                    userName,
                    no,
                    entries.map((e) => ({ ...e, at: new Date(e.at) }))
                );
            }
        },
        reset: () => {
            haptik.reset();
            counts.clear();
            arrivals = [];
        }
    });
    process.send?.({ ready: { url: haptik.url } });
}

async function serveNoop(): Promise<void> {
    const server = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
            res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 2 });
            res.end('{}');
        });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    process.send?.({ ready: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` } });
}

async function main(): Promise<void> {
    serveBenchStats();
    process.once('SIGTERM', () => process.exit(0));
    const [role, json] = process.argv.slice(2);
    const options = JSON.parse(json ?? '{}') as Record<string, unknown>;
    switch (role) {
        case 'salesforce':
            return typeof options['seedLookup'] === 'number'
                ? serveLookupSalesforce(options['seedLookup'])
                : serveWorld(options as { haptikUrl: string });
        case 'haptik':
            return serveHaptik();
        case 'noop':
            return serveNoop();
        case undefined:
        default:
            throw new Error(`unknown emulator role ${role}`);
    }
}

if (require.main === module) {
    main().catch((error: unknown) => {
        console.error(error);
        process.exit(1);
    });
}
