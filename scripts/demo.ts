import { textHsl, hslToPlainText } from '../bridge/src/haptik/hsl';
import { enqueueOutbound } from '../bridge/src/services/outbound-jobs';
import { getInboundEvent } from '../bridge/src/store/inbox';
import { integrationRequest, webhookConversationComplete } from '../test/emulators/haptik';
import { startSandbox } from '../test/emulators/sandbox';
import type { Sandbox } from '../test/emulators/sandbox';

/**
 * `npm run demo`: the bridge on its embedded defaults against the bundled Salesforce and Haptik emulators,
 * played through as a person would watch it. Exit 0 when every step happened; otherwise non-zero,
 * naming the step that failed. `--keep` leaves everything running for exploration.
 */
const keep = process.argv.includes('--keep');
const USER = { id: 'demo-user-1', name: 'asha_rao_343', phone: '+1 415 555 0134' };

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

async function play(sandbox: Sandbox): Promise<void> {
    const { bridge, salesforce, haptik, send } = sandbox;

    await step('The bridge is up on the embedded database', async () => {
        const ready = await fetch(`${bridge.url}/readyz`);
        const body = (await ready.json()) as { checks?: Record<string, unknown> };
        check(ready.status === 200, `/readyz answered ${ready.status}: ${JSON.stringify(body)}`);
        say(`  bridge     ${bridge.url}   (database: ${bridge.db.kind}, Salesforce token: ok)`);
        say(`  Salesforce ${salesforce.url}   (emulator)`);
        say(`  Haptik     ${haptik.url}   (emulator)`);
    });

    await step('The bot looks the user up in Salesforce by phone and greets them by name', async () => {
        salesforce.insert('Account', { Name: 'Acme Corp' });
        const account = salesforce.records('Account').find((a) => a['Name'] === 'Acme Corp');
        salesforce.insert('Contact', {
            FirstName: 'Asha',
            LastName: 'Rao',
            Email: 'asha.rao@example.com',
            Phone: '(415) 555-0134',
            AccountId: account?.['Id']
        });
        say(`  Salesforce holds Contact "Asha Rao", phone stored as "(415) 555-0134"`);
        say(`  user writes on WhatsApp from ${USER.phone}`);
        const answer = await send.customer(
            integrationRequest({ userId: USER.id, userName: USER.name, userDetails: { phone: USER.phone } })
        );
        const body = answer.body as { status?: boolean; response?: string[]; user_details?: Record<string, unknown> };
        check(
            answer.status === 200 && body.user_details?.['crm_found'] === true,
            `lookup answered ${JSON.stringify(answer.body)}`
        );
        const details = body.user_details ?? {};
        say(`  bridge → bot: crm_found=true, ${String(details['crm_object'])} ${String(details['crm_id'])}`);
        say(`               name "${String(details['name'])}", account "${String(details['account_name'])}"`);
        for (const text of body.response ?? []) say(`  bot → user:  "${hslToPlainText(text)}"`);
    });

    await step('Haptik reports a finished conversation; the bridge stores it before answering', async () => {
        const payload = webhookConversationComplete({ userId: USER.id, userName: USER.name, conversationNo: 1 });
        const first = await send.webhook(payload);
        check(first.status === 200, `webhook answered ${first.status}`);
        const stored = await getInboundEvent(bridge.db, 'haptik.webhook', `webhook:conversation_complete:1:${USER.id}`);
        check(stored !== undefined, 'the event is not in the database');
        say(`  POST /haptik/webhook (signed X-Hub-Signature) → ${first.status} ${JSON.stringify(first.body)}`);
        const again = await send.webhook(payload);
        say(`  Haptik retries the same event → ${again.status} ${JSON.stringify(again.body)} (not processed twice)`);
        check(JSON.stringify(again.body).includes('duplicate'), 'the redelivery was not recognised');
        const unsigned = await send.webhook(payload, { signature: null });
        say(`  an unsigned request → ${unsigned.status} ${JSON.stringify(unsigned.body)}`);
        check(unsigned.status === 401, 'an unsigned request was accepted');
    });

    await step('Messages to the user go through the durable outbox, in order, even when Haptik fails', async () => {
        haptik.failNext(1, 503);
        say('  Haptik will answer the next call with 503');
        const texts = ['Thanks for waiting, Asha.', 'An agent will join shortly.'];
        await bridge.db.transaction(async (tx) => {
            for (const [i, text] of texts.entries()) {
                await enqueueOutbound(tx, 'haptik.message', {
                    orderingKey: `haptik-user:${USER.id}`,
                    idempotencyKey: `demo:${USER.id}:${i}`,
                    payload: { userId: USER.id, hsl: textHsl(text), metadata: { message_id: `demo-${i}` } }
                });
            }
        });
        bridge.outbox.notify();
        await haptik.waitFor(
            (c) => c.path === '/tract/message/send/' && c.status === 200 && JSON.stringify(c.body).includes('demo-1'),
            15_000
        );
        const attempts = haptik.calls.filter((c) => c.path === '/tract/message/send/');
        for (const c of attempts) say(`  bridge → Haptik /tract/message/send/ → ${c.status}`);
        const delivered = haptik.messagesTo(USER.id).map((m) => m.text);
        check(JSON.stringify(delivered) === JSON.stringify(texts), `delivered ${JSON.stringify(delivered)}`);
        for (const text of delivered) say(`  user sees:  "${text}"`);
    });
}

async function main(): Promise<void> {
    say('Haptik connector for Salesforce Service Cloud: demo on embedded defaults');
    const sandbox = await step('Start the Salesforce and Haptik emulators and the bridge', () =>
        startSandbox({
            mapping: { lookup: { greeting: 'Welcome back, {first_name}! How can I help you today?' } },
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
