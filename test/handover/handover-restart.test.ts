import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AgentConsole } from '../emulators/agent-console';
import { createHaptikSender, integrationRequest, tractMessage } from '../emulators/haptik';
import type { HaptikEmulator, HaptikSender } from '../emulators/haptik';
import { SANDBOX_CREDENTIALS, byocEnv, liveAgentEnv, sandboxEnv, startEmulators } from '../emulators/sandbox';
import type { Emulators } from '../emulators/sandbox';
import type { SalesforceEmulator } from '../emulators/salesforce';
import { dropSchema, testDatabaseUrl, uniqueSchemaName } from '../support/databases';
import { eventually } from '../support/eventually';
import { compileBridgeProcess, startBridgeProcess } from '../support/bridge-process-runner';
import type { BridgeProcess } from '../support/bridge-process-runner';
import type { BridgeProcessOptions } from '../../scripts/bridge-process';
import {
    CHAT_APIS,
    expectDuplicatesOnlyFromLostSends,
    FAST_BYOC,
    FAST_CHAT,
    FAST_LEGACY_CHAT,
    FAST_LIVE_AGENT,
    FAST_OUTBOX,
    FAST_PUBSUB,
    handoverMapping,
    sendsPerMessage
} from './harness';

/**
 * Durability of a live chat across a crash: the bridge runs in a child process, is killed with SIGKILL
 * mid-chat while one agent message is on its way to Haptik (Haptik has it, the bridge has not heard back),
 * the agent keeps writing while it is down, and a new process on the same database resumes the chat from
 * its stored stream position. Every agent message reaches the user, in order; Haptik deduplicates nothing,
 * so the message in flight at the crash shows twice, and no other message does (contract §3).
 */
jest.setTimeout(120_000);

describe.each(CHAT_APIS)('live agent handover across a SIGKILL of the bridge (%s)', (api) => {
    const c = SANDBOX_CREDENTIALS;
    const databaseUrl = testDatabaseUrl();
    const schema = uniqueSchemaName();
    let entry: string;
    let emulators: Emulators | undefined;
    let salesforce: SalesforceEmulator;
    let haptik: HaptikEmulator;
    let chat: AgentConsole;
    let options: BridgeProcessOptions;
    let bridge: BridgeProcess | undefined;

    beforeAll(async () => {
        entry = await compileBridgeProcess();
        emulators = await startEmulators({ liveAgent: FAST_LIVE_AGENT, byoc: FAST_PUBSUB });
        ({ salesforce, haptik } = emulators);
        chat = api === 'legacy' ? emulators.liveAgent : api === 'byoc' ? emulators.byoc.interactions : emulators.chat;
        const database =
            databaseUrl === undefined
                ? { BRIDGE_DATA_DIR: await mkdtemp(path.join(tmpdir(), 'handover-restart-')) }
                : { DATABASE_URL: databaseUrl };
        options = {
            env: {
                ...sandboxEnv(salesforce.url, haptik.url),
                SF_SCRT_URL: emulators.chat.url,
                ...(api === 'legacy' ? liveAgentEnv(emulators.liveAgent) : {}),
                ...(api === 'byoc' ? byocEnv(emulators.byoc) : {}),
                ...database
            },
            mapping: handoverMapping(),
            ...(databaseUrl === undefined ? {} : { databaseSchema: schema }),
            outbox: FAST_OUTBOX,
            chatTuning: FAST_CHAT,
            legacyChatTuning: FAST_LEGACY_CHAT,
            byocTuning: FAST_BYOC,
            // The killed process's heartbeat runs out in 2 s; then the new one takes its chat over.
            streams: { leaseMs: 2000, tickMs: 200 }
        };
    });

    afterAll(async () => {
        await bridge?.kill('SIGKILL');
        await emulators?.close();
        if (databaseUrl !== undefined) await dropSchema(databaseUrl, schema);
    });

    function sender(process: BridgeProcess): HaptikSender {
        return createHaptikSender(process.url, { secret: c.webhookSecret, hookToken: c.hookToken }, haptik);
    }

    function agentMessagesAtUser(userId: string): Array<{ text: string; id: string }> {
        return haptik
            .messagesTo(userId)
            .filter((m) => m.text.startsWith('agent '))
            .map((m) => ({ text: m.text, id: (m.metadata as { message_id: string }).message_id }));
    }

    it('resumes the chat from its cursor and delivers what the agent wrote meanwhile; only the send in flight at the crash shows twice', async () => {
        const userId = 'u-crash';
        bridge = await startBridgeProcess(entry, options);
        let send = sender(bridge);
        const reply = await send.handover(
            integrationRequest({ userId, userName: 'crash_user', node: 'talk_to_agent' })
        );
        expect(reply.status).toBe(200);
        const handoverId = (reply.body as { conversation_details: { handover_id: string } }).conversation_details
            .handover_id;
        const conversationId = await eventually(
            () =>
                chat
                    .conversations()
                    .find(
                        (x) =>
                            x.conversationId === handoverId ||
                            x.conversationKey === `343:${userId}:1` ||
                            ('endUserId' in x && x.endUserId === `haptik:343:${userId}`)
                    )?.conversationId
        );
        // Live Agent has no message ids: the bridge's id is the message's position in the session's stream.
        const idOf = (returned: string): string => (api === 'legacy' ? `${conversationId}:${returned}` : returned);
        chat.accept(conversationId, 'Priya');
        await eventually(() =>
            haptik.messagesTo(userId).some((m) => m.text === 'You are now chatting with Priya.') ? true : undefined
        );

        const before = ['agent 1', 'agent 2'].map((text) => ({
            text,
            id: idOf(chat.agentMessage(conversationId, text))
        }));
        await send.tractMessage(tractMessage({ userId, messageId: 1, text: 'user 1' }));
        await eventually(() => (agentMessagesAtUser(userId).length === 2 ? true : undefined));
        await eventually(() => (chat.messagesFrom(conversationId).some((m) => m.text === 'user 1') ? true : undefined));

        // One agent message is in flight when the bridge dies: Haptik accepted it, the answer never arrives.
        haptik.holdSendAnswers();
        const inFlight = { text: 'agent 3', id: idOf(chat.agentMessage(conversationId, 'agent 3')) };
        await haptik.waitFor((call) => JSON.stringify(call.body ?? '').includes('agent 3'), 10_000);
        await bridge.kill('SIGKILL');
        await eventually(() =>
            sendsPerMessage(haptik, userId).find((m) => m.text === 'agent 3')?.answerLost ? true : undefined
        );
        await haptik.releaseSendAnswers();
        // While the bridge is down the agent keeps writing.
        const during = ['agent 4', 'agent 5'].map((text) => ({
            text,
            id: idOf(chat.agentMessage(conversationId, text))
        }));

        bridge = await startBridgeProcess(entry, options);
        send = sender(bridge);
        await eventually(() => (agentMessagesAtUser(userId).length >= 6 ? true : undefined), 20_000);
        const after = [{ text: 'agent 6', id: idOf(chat.agentMessage(conversationId, 'agent 6')) }];
        await eventually(() => (agentMessagesAtUser(userId).length >= 7 ? true : undefined), 20_000);

        // The send in flight at the crash is repeated (the bridge cannot know it arrived), nothing else.
        expect(agentMessagesAtUser(userId)).toEqual([...before, inFlight, inFlight, ...during, ...after]);
        expect(sendsPerMessage(haptik, userId).find((m) => m.text === 'agent 3')).toMatchObject({
            sends: 2,
            answerLost: true
        });

        // The user side still works after the restart, and a redelivered TRACT message is not relayed again.
        await send.tractMessage(tractMessage({ userId, messageId: 1, text: 'user 1' }));
        await send.tractMessage(tractMessage({ userId, messageId: 2, text: 'user 2' }));
        await eventually(() => (chat.messagesFrom(conversationId).some((m) => m.text === 'user 2') ? true : undefined));
        expect(
            chat
                .messagesFrom(conversationId)
                .filter((m) => m.text.startsWith('user '))
                .map((m) => m.text)
        ).toEqual(['user 1', 'user 2']);

        chat.end(conversationId);
        await eventually(() =>
            haptik.calls.find(
                (call) =>
                    call.path === '/tract/thread_control/request' &&
                    (call.body as { user_id?: string }).user_id === userId
            )
        );
        // Nothing else was sent twice to the user, notices included.
        expectDuplicatesOnlyFromLostSends(haptik, userId);
        await bridge.kill('SIGTERM');
        bridge = undefined;
    });
});
