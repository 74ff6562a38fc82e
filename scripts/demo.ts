import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { hslToPlainText } from '../bridge/src/haptik/hsl';
import { createLogger } from '../bridge/src/observability/logger';
import { integrationRequest, tractMessage, webhookConversationComplete } from '../test/emulators/haptik';
import { startSandbox } from '../test/emulators/sandbox';
import type { ChatApi, Sandbox } from '../test/emulators/sandbox';
import type { AgentConsole } from '../test/emulators/agent-console';

/**
 * `npm run demo`: the bridge on its embedded defaults against the bundled Salesforce, Enhanced Chat and
 * Haptik emulators, played through as a person would watch it: CRM lookup, a service request Case, a
 * handover to an agent and back, and the transcript Case. Exit 0 when every step happened; otherwise
 * non-zero, naming the step that failed. `--keep` leaves everything running for exploration.
 */
const keep = process.argv.includes('--keep');
/** `--verbose` shows the bridge's own log lines (JSON, on standard error) between the steps. */
const verbose = process.argv.includes('--verbose');
/**
 * `--chat legacy` plays the same story on the legacy Chat REST API (Live Agent), `--chat byoc` on Bring Your Own
 * Channel (Interaction Service API + Pub/Sub API), instead of Enhanced Chat.
 */
const chatArg = process.argv[process.argv.indexOf('--chat') + 1];
const chatApi: ChatApi = chatArg === 'legacy' || chatArg === 'byoc' ? chatArg : 'enhanced';
const CHAT_NAME =
    chatApi === 'legacy' ? 'Live Agent' : chatApi === 'byoc' ? 'BYOC (Interaction Service + Pub/Sub)' : 'Enhanced Chat';
/** Haptik's device_platform 14 is WhatsApp (haptik.md §A3): the channel the transcript Case names. */
const WHATSAPP = 14;
const USER = { id: 'demo-user-1', name: 'asha_rao_343', phone: '+1 415 555 0134', conversationNo: 1 };
/** A 1×1 PNG, the smallest real picture: the user's photo and the agent's image in the demo. */
const PNG = Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
    'base64'
);
const CONVERSATION_KEY = `343:${USER.id}:${USER.conversationNo}`;

function say(line = ''): void {
    console.log(line);
}

async function step<T>(title: string, run: () => Promise<T>): Promise<T> {
    process.stdout.write(`\n▶ ${title}\n`);
    try {
        return await run();
    } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`step "${title}" failed: ${reason}`, { cause: error });
    }
}

function check(condition: boolean, what: string): void {
    if (!condition) throw new Error(what);
}

/** Polls for something the bridge does in the background; the demo never waits on a fixed sleep. */
async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = probe();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
    }
}

/** Prints what Haptik delivered to the user since the last call, as the user would read it. */
function userReader(sandbox: Sandbox<AgentConsole>): () => string[] {
    let seen = 0;
    return () => {
        const texts = sandbox.haptik.messagesTo(USER.id).map((m) => m.text);
        const fresh = texts.slice(seen);
        seen = texts.length;
        for (const text of fresh) say(`  user sees:   "${text.replace(/\n/g, ' / ')}"`);
        return fresh;
    };
}

async function play(sandbox: Sandbox<AgentConsole>): Promise<void> {
    const { bridge, salesforce, haptik, chat, send } = sandbox;
    const readUser = userReader(sandbox);
    const showBriefing = async (id: string): Promise<void> => {
        const briefing = await until('the agent briefing', () => chat.messagesFrom(id)[0]?.text);
        say('  the agent console shows the bot conversation first:');
        for (const line of briefing.split('\n')) say(`    | ${line}`);
    };
    const userSaw = (text: string): Promise<boolean> =>
        until(`the user to see "${text}"`, () =>
            haptik.messagesTo(USER.id).some((m) => m.text === text) ? true : undefined
        );

    await step('The bridge is up on the embedded database', async () => {
        const ready = await fetch(`${bridge.url}/readyz`);
        check(ready.status === 200, `/readyz answered ${ready.status}: ${await ready.text()}`);
        say(`  bridge        ${bridge.url}   (database: ${bridge.db.kind}, Salesforce token: ok)`);
        say(`  Salesforce    ${salesforce.url}   (emulator)`);
        say(`  ${CHAT_NAME.padEnd(13)} ${chat.url}   (emulator, with an agent console you drive)`);
        say(`  Haptik        ${haptik.url}   (emulator; TRACT takes only tokens issued by a signed request)`);
    });

    await step('The bot looks the user up in Salesforce by phone and greets them by name', async () => {
        const account = salesforce.insert('Account', { Name: 'Acme Corp' });
        salesforce.insert('Contact', {
            FirstName: 'Asha',
            LastName: 'Rao',
            Email: 'asha.rao@example.com',
            Phone: '(415) 555-0134',
            AccountId: account['Id']
        });
        say('  Salesforce holds Contact "Asha Rao", phone stored as "(415) 555-0134"');
        say(`  the user writes on WhatsApp from ${USER.phone}`);
        const answer = await send.customer(
            integrationRequest({
                userId: USER.id,
                userName: USER.name,
                devicePlatform: WHATSAPP,
                userDetails: { phone: USER.phone }
            })
        );
        const body = answer.body as { response?: string[]; user_details?: Record<string, unknown> };
        const details = body.user_details ?? {};
        check(
            answer.status === 200 && details['crm_found'] === 'true',
            `lookup answered ${JSON.stringify(answer.body)}`
        );
        say(`  bridge → bot: crm_found, ${String(details['crm_object'])} ${String(details['crm_id'])}`);
        say(`                name "${String(details['name'])}", account "${String(details['account_name'])}"`);
        for (const text of body.response ?? []) say(`  bot says:    "${hslToPlainText(text)}"`);
    });

    await step('The user raises a service request; the bot logs a Case and tells its number', async () => {
        const answer = await send.caseEvent(
            'service_request',
            integrationRequest({
                userId: USER.id,
                userName: USER.name,
                conversationNo: USER.conversationNo,
                node: 'raise_service_request',
                userDetails: { phone: USER.phone, email: 'asha.rao@example.com' },
                entities: { order_id: 'A-1001', issue_type: 'damaged item' }
            })
        );
        const body = answer.body as { response?: string[]; user_details?: Record<string, unknown> };
        const caseNumber = body.user_details?.['case_number'];
        check(answer.status === 200 && typeof caseNumber === 'string', `case answered ${JSON.stringify(answer.body)}`);
        const record = salesforce.records('Case').find((c) => c['CaseNumber'] === caseNumber);
        check(record !== undefined, `Case ${String(caseNumber)} is not in Salesforce`);
        say(`  Salesforce: Case ${String(caseNumber)} "${String(record?.['Subject'])}", linked to the Contact`);
        for (const text of body.response ?? []) say(`  bot says:    "${hslToPlainText(text)}"`);
    });

    const conversationId = await step('The user asks for an agent; all agents are busy', async () => {
        chat.setWaitTime(120, 2);
        const minutesAgo = (n: number): Date => new Date(Date.now() - n * 60_000);
        haptik.setChatHistory(USER.name, USER.conversationNo, [
            { sender: 'user', text: 'My order A-1001 arrived damaged', at: minutesAgo(3) },
            { sender: 'bot', text: 'Sorry about that! I logged a service request.', at: minutesAgo(3) },
            { sender: 'user', text: 'I want to talk to a person', at: minutesAgo(1) }
        ]);
        const answer = await send.handover(
            integrationRequest({
                userId: USER.id,
                userName: USER.name,
                devicePlatform: WHATSAPP,
                conversationNo: USER.conversationNo,
                node: 'talk_to_agent',
                userDetails: { phone: USER.phone },
                conversationDetails: { intent: 'damaged_item' },
                entities: { order_id: 'A-1001' }
            })
        );
        const body = answer.body as {
            response?: string[];
            conversation_details?: { handover_id?: string };
            callback_ops?: { tract_atc?: { receiver?: string } };
        };
        check(answer.status === 200, `handover answered ${answer.status}: ${JSON.stringify(answer.body)}`);
        for (const text of body.response ?? []) say(`  bot says:    "${hslToPlainText(text)}"`);
        const receiver = body.callback_ops?.tract_atc?.receiver;
        check(receiver === haptik.ectReceiver, `the answer names no TRACT receiver: ${JSON.stringify(answer.body)}`);
        say(`  bridge → bot: callback_ops.tract_atc.receiver "${receiver}": the Code node passes it on, TRACT gives`);
        say(`                the thread to the bridge (now held by "${haptik.activeReceiver(USER.id)}")`);
        const handoverId = String(body.conversation_details?.handover_id ?? '').toLowerCase();
        const id = await until(
            'the chat to reach Salesforce',
            () =>
                chat
                    .conversations()
                    .find(
                        (c) =>
                            c.conversationId === handoverId ||
                            c.conversationKey === CONVERSATION_KEY ||
                            ('endUserId' in c && c.endUserId === `haptik:343:${USER.id}`)
                    )?.conversationId
        );
        if (chatApi === 'byoc') {
            say(
                '  bridge → Salesforce: POST /api/v1/interactions (multipart) to the Messaging channel; the agent side'
            );
            say("  comes back on the org's ONE Pub/Sub subscription (gRPC, Avro platform events, replay ids)");
            say(
                '  (the bot history import answered 10057, as for BYOC for Messaging: the briefing goes first instead)'
            );
        }
        // Live Agent tells the position and the wait in one message, Enhanced Chat in two.
        await until('the wait notice', () =>
            haptik
                .messagesTo(USER.id)
                .some((m) => m.text.startsWith('An agent will be with you as soon as we close one conversation.'))
                ? true
                : undefined
        );
        readUser();
        // Live Agent takes visitor messages (the briefing too) only once an agent accepted.
        if (chatApi !== 'legacy') await showBriefing(id);
        const caseRecord = await until('the conversation Case with the bot context', () =>
            salesforce.records('Case').find((c) => c['Haptik_Conversation_Key__c'] === CONVERSATION_KEY)
        );
        const context = JSON.parse(String(caseRecord['Haptik_Bot_Context__c'])) as {
            intent?: string;
            entities?: unknown[];
        };
        say(
            `  Salesforce: Case with Haptik_Bot_Context__c (intent "${String(context.intent)}", ${context.entities?.length ?? 0} entity) for the console component`
        );
        return id;
    });

    await step('Agent Priya accepts; messages flow both ways', async () => {
        chat.accept(conversationId, 'Priya');
        await userSaw('You are now chatting with Priya.');
        readUser();
        if (chatApi === 'legacy') await showBriefing(conversationId);
        check(
            haptik.eventsTo(USER.id).some((e) => e.subcategory === 'allocated'),
            'Haptik was not told the chat was allocated'
        );
        say('  bridge → Haptik: TRACT event message/allocated');
        const userLines = ['Hi Priya, the box was crushed', 'Can I get a replacement?'];
        for (const [i, text] of userLines.entries()) {
            const reply = await send.tractMessage(tractMessage({ userId: USER.id, messageId: 500 + i, text }));
            check(reply.status === 200, `TRACT message answered ${reply.status}`);
            say(`  user writes:  "${text}"   (TRACT hook, unsigned, to the URL with ?key=)`);
        }
        await until('the agent to get both messages', () =>
            chat.messagesFrom(conversationId).filter((m) => userLines.includes(m.text)).length === 2 ? true : undefined
        );
        for (const m of chat.messagesFrom(conversationId).filter((x) => userLines.includes(x.text))) {
            say(`  agent sees:   "${m.text}"`);
        }
        chat.agentMessage(conversationId, 'So sorry, Asha! A replacement ships today.');
        chat.agentMessage(conversationId, 'Anything else I can help with?');
        await userSaw('Anything else I can help with?');
        readUser();
    });

    await step('A photo each way: the user shows the damage, Priya shows how to pack it', async () => {
        // The user's photo arrives as an image card on Haptik's asset host (here the emulator's).
        const photoUrl = haptik.addAsset('crushed-box.png', 'image/png', PNG);
        const reply = await send.tractMessage({
            ...tractMessage({ userId: USER.id, messageId: 510, text: '' }),
            message_body: JSON.stringify({
                text: 'This is how it arrived',
                type: 'CAROUSEL',
                data: { items: [{ thumbnail: { image: photoUrl }, title: 'crushed-box.png', actionables: [] }] }
            })
        });
        check(reply.status === 200, `TRACT message answered ${reply.status}`);
        say('  user sends:   a photo "crushed-box.png" with "This is how it arrived"');
        // Enhanced Chat and BYOC take the user's upload; Live Agent has none (a link and a note instead).
        const uploads =
            chatApi === 'enhanced' ? sandbox.enhancedChat : chatApi === 'byoc' ? sandbox.byoc.interactions : undefined;
        if (uploads !== undefined) {
            const file = await until('the photo in the chat', () => uploads.filesFrom(conversationId)[0]);
            const caption = await until('the caption in the chat', () =>
                chat.messagesFrom(conversationId).find((m) => m.text === 'This is how it arrived')
            );
            say(
                `  agent sees:   "${caption.text}", then the file ${file.name} (${file.contentType}, ${file.size} bytes)`
            );
            say(
                chatApi === 'byoc'
                    ? '                (downloaded from an allowed host, streamed to the channel: an AttachmentInteraction, POST /api/v1/interactions)'
                    : '                (downloaded from an allowed host, streamed into the chat: POST .../conversation/{id}/file)'
            );
            uploads.agentAttachment(
                conversationId,
                { name: 'how-to-pack.png', mimeType: 'image/png', data: PNG },
                'Pack it like this; the return label is on its way'
            );
            const sent = await until('the picture to reach the user', () =>
                haptik.messagesTo(USER.id).find((m) => (m.hsl as { type?: string } | undefined)?.type === 'CAROUSEL')
            );
            readUser();
            const link = (sent.hsl as { data: { items: Array<{ thumbnail: { image: string } }> } }).data.items[0]!
                .thumbnail.image;
            const opened = await fetch(link);
            check(opened.status === 200, `the signed link answered ${opened.status}`);
            const bytes = Buffer.from(await opened.arrayBuffer()).length;
            say(`  user's app shows the picture from ${link.slice(0, 50)}…`);
            say(`                → ${opened.status}, ${bytes} bytes of ${String(opened.headers.get('content-type'))}`);
            say(
                '                (a signed link to GET /files/{token}: the bridge streams it from Salesforce; it expires)'
            );
        } else {
            const note = await until('the photo as a link', () =>
                chat.messagesFrom(conversationId).find((m) => m.text.includes('crushed-box.png'))
            );
            say(`  agent sees:   "${note.text.replace(/\n/g, ' ')}"   (Live Agent takes no visitor upload)`);
            await until('the user to hear the file went as a link', () =>
                haptik.messagesTo(USER.id).some((m) => m.text.includes('received a link')) ? true : undefined
            );
            readUser();
        }
    });

    await step('Priya ends the chat; the bot takes the conversation back', async () => {
        chat.end(conversationId);
        await until('control to pass back to the bot', () =>
            haptik.calls.some((c) => c.path === '/tract/thread_control/request' && c.status === 200) ? true : undefined
        );
        readUser();
        say('  bridge → Haptik: thread_control/request type "pass" (the bot answers again)');
        const tokens = haptik.tractTokensIssued;
        say(`  (every TRACT call carried the bridge's TRACT token: ${tokens} issued, renewed before it expires)`);
    });

    await step('Haptik reports the conversation complete; the transcript lands on the same Case', async () => {
        const payload = webhookConversationComplete({
            userId: USER.id,
            userName: USER.name,
            devicePlatform: WHATSAPP,
            conversationNo: USER.conversationNo,
            completionType: 'agent'
        });
        const first = await send.webhook(payload);
        check(first.status === 200, `webhook answered ${first.status}`);
        say(`  POST /haptik/webhook (signed) → ${first.status} ${JSON.stringify(first.body)}, stored before answering`);
        const again = await send.webhook(payload);
        say(`  Haptik retries the same event → ${again.status} ${JSON.stringify(again.body)}`);
        const record = await until('the transcript on the Case', () =>
            salesforce
                .records('Case')
                .find((c) => c['Haptik_Conversation_Key__c'] === CONVERSATION_KEY && c['Haptik_Transcript__c'])
        );
        const cases = salesforce.records('Case').filter((c) => c['Haptik_Conversation_Key__c'] === CONVERSATION_KEY);
        check(cases.length === 1, `${cases.length} Cases for the conversation`);
        say(
            `  Salesforce: Case ${String(record['CaseNumber'])}, Haptik_Channel__c ${String(record['Haptik_Channel__c'])}, transcript:`
        );
        for (const line of String(record['Haptik_Transcript__c']).split('\n')) say(`    | ${line}`);
    });
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address() as AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

async function main(): Promise<void> {
    say('Haptik connector for Salesforce Service Cloud: demo on embedded defaults');
    // A known port, so that the signed file links (BRIDGE_PUBLIC_URL) point at this bridge.
    const port = await freePort();
    const sandbox = await step(`Start the Salesforce, ${CHAT_NAME} and Haptik emulators and the bridge`, () =>
        startSandbox({
            chatApi,
            port,
            // The Haptik emulator's asset host is 127.0.0.1: listed exactly, as a private address must be.
            env: { BRIDGE_PUBLIC_URL: `http://127.0.0.1:${port}`, BRIDGE_FILE_HOSTS: '127.0.0.1' },
            ...(verbose ? { logger: createLogger({ level: 'debug', destination: pino.destination(2) }) } : {}),
            mapping: {
                lookup: { greeting: 'Welcome back, {first_name}! How can I help you today?' },
                handover: { waitNoticeIntervalSeconds: 0, routingAttributes: { Haptik_Intent: 'intent' } }
            },
            outbox: { pollIntervalMs: 100, backoff: { baseMs: 200, maxMs: 1000 } }
        })
    );
    try {
        await play(sandbox);
        say('\n✔ Every step happened.');
        if (keep) {
            say('\n--keep: everything stays up. Try:');
            say(`  curl ${sandbox.bridge.url}/readyz`);
            say(`  curl ${sandbox.bridge.url}/metrics`);
            say(`  curl ${sandbox.salesforce.url}/__emulator/state`);
            say(`  curl ${sandbox.chat.url}/__emulator/conversations`);
            say('Press Ctrl+C to stop.');
            await new Promise<void>((resolve) => process.once('SIGINT', resolve));
        }
    } finally {
        await sandbox.stop();
    }
}

main().catch((error: unknown) => {
    console.error(`\n✘ ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
});
