import { createHaptikSender, integrationRequest, tractMessage } from '../emulators/haptik';
import type { HaptikSender } from '../emulators/haptik';
import { SANDBOX_CREDENTIALS, byocEnv, liveAgentEnv, sandboxEnv, startEmulators } from '../emulators/sandbox';
import type { AgentConsole } from '../emulators/agent-console';
import type { Emulators } from '../emulators/sandbox';
import { openBarePostgres, dropSchema, uniqueSchemaName } from '../support/databases';
import { eventually } from '../support/eventually';
import { compileBridgeProcess, startBridgeProcess } from '../support/bridge-process-runner';
import type { BridgeProcess } from '../support/bridge-process-runner';
import type { BridgeProcessOptions } from '../../scripts/bridge-process';
import type { Db } from '../../bridge/src/store/db';
import {
    BUSINESS_ID,
    CHAT_APIS,
    expectDuplicatesOnlyFromLostSends,
    sendsPerMessage,
    FAST_BYOC,
    FAST_CHAT,
    FAST_LEGACY_CHAT,
    FAST_LIVE_AGENT,
    FAST_OUTBOX,
    FAST_PUBSUB,
    handoverMapping
} from '../handover/harness';

/**
 * Several bridge instances on one PostgreSQL (issue 10): three processes behind "a load balancer"
 * (this test sends each request to whichever instance it likes), 50 live chats on the Enhanced Chat
 * emulator (and again on the legacy Live Agent emulator), consecutive messages of one user through different instances, then one instance is
 * SIGKILLed mid-conversation, with agent messages on their way to Haptik. Every conversation goes on: what
 * the agent wrote while the instance was dead reaches the user, each chat's stream is read by exactly one
 * survivor, nothing is lost, and a message shows twice only when its send was in flight in the dead
 * instance (Haptik deduplicates nothing; contract §3).
 */
jest.setTimeout(240_000);

const CHATS = 50;
const INSTANCES = 3;
/** Outbox jobs each instance runs at once. */
const OUTBOX_CONCURRENCY = 8;
// The local PostgreSQL of this machine kind (and CI); several processes cannot share an embedded database.
const databaseUrl = process.env['TEST_DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/test';

interface Chat {
    userId: string;
    handoverId: string;
    /** The chat's id at the agent's side (Enhanced Chat: the handover id; Live Agent: its session id). */
    conversationId: string;
}

describe.each(CHAT_APIS)('three bridge instances on one PostgreSQL (%s)', (api) => {
    const schema = uniqueSchemaName();
    let emulators: Emulators | undefined;
    let db: Db | undefined;
    const instances: Array<BridgeProcess | undefined> = [];
    let senders: HaptikSender[] = [];
    let options: BridgeProcessOptions;
    let agent: AgentConsole;

    beforeAll(async () => {
        const entry = await compileBridgeProcess();
        emulators = await startEmulators({ liveAgent: FAST_LIVE_AGENT, byoc: FAST_PUBSUB });
        const { salesforce, haptik, chat, liveAgent, byoc } = emulators;
        agent = api === 'legacy' ? liveAgent : api === 'byoc' ? byoc.interactions : chat;
        options = {
            env: {
                ...sandboxEnv(salesforce.url, haptik.url),
                SF_SCRT_URL: chat.url,
                ...(api === 'legacy' ? liveAgentEnv(liveAgent) : {}),
                ...(api === 'byoc' ? byocEnv(byoc) : {}),
                DATABASE_URL: databaseUrl
            },
            mapping: handoverMapping(),
            databaseSchema: schema,
            outbox: { ...FAST_OUTBOX, concurrency: OUTBOX_CONCURRENCY },
            chatTuning: FAST_CHAT,
            legacyChatTuning: FAST_LEGACY_CHAT,
            byocTuning: FAST_BYOC,
            streams: { leaseMs: 2000, tickMs: 200 }
        };
        // One at a time: the first one migrates the schema (the others would wait on its lock anyway).
        for (let i = 0; i < INSTANCES; i += 1) {
            instances.push(
                await startBridgeProcess(entry, {
                    ...options,
                    streams: { ...options.streams, instanceId: `bridge-${i}` }
                })
            );
        }
        senders = instances.map((p) =>
            createHaptikSender(
                p!.url,
                { secret: SANDBOX_CREDENTIALS.webhookSecret, hookToken: SANDBOX_CREDENTIALS.hookToken },
                emulators!.haptik
            )
        );
        db = await openBarePostgres(databaseUrl, schema);
    });

    afterAll(async () => {
        await Promise.all(instances.map((p) => (p === undefined ? Promise.resolve() : p.kill('SIGKILL'))));
        await db?.close();
        await emulators?.close();
        await dropSchema(databaseUrl, schema);
    });

    /** The agent messages the user got, each once (a repeated send is checked by expectDuplicatesOnlyFromLostSends). */
    function agentTexts(userId: string): string[] {
        const seen = new Set<string>();
        return emulators!.haptik
            .messagesTo(userId)
            .filter((m) => {
                const id = (m.metadata as { message_id: string }).message_id;
                if (seen.has(id)) return false;
                seen.add(id);
                return true;
            })
            .map((m) => m.text)
            .filter((text) => text.startsWith('agent:'));
    }

    function userTextsAtAgent(conversationId: string): string[] {
        return agent
            .messagesFrom(conversationId)
            .map((m) => m.text)
            .filter((text) => text.startsWith('user:'));
    }

    async function streamOwners(): Promise<Map<string, number>> {
        const rows = await db!.query<{ owner: string | null; n: string }>(
            `SELECT stream_owner AS owner, count(*) AS n FROM handover_sessions
             WHERE state NOT IN ('ended', 'failed') GROUP BY stream_owner`
        );
        return new Map(rows.rows.map((r) => [r.owner ?? 'none', Number(r.n)]));
    }

    /** BYOC: the instance holding the org's one Pub/Sub subscription (byoc_subscriptions). */
    async function subscriptionHolder(): Promise<string | null> {
        const rows = await db!.query<{ owner: string | null }>('SELECT owner FROM byoc_subscriptions');
        return rows.rows[0]?.owner ?? null;
    }

    /**
     * One reader per chat at the emulator: as many SSE connections as chats (Enhanced Chat), never two
     * long polls of one session at once (Live Agent, whose polls come and go every hold period), or ONE
     * Pub/Sub subscription for every chat of the org (BYOC).
     */
    function oneReaderPerChat(): boolean {
        if (api === 'enhanced') return emulators!.chat.stats.activeStreams === CHATS;
        if (api === 'byoc') return emulators!.byoc.pubsub.stats.activeSubscriptions === 1;
        return emulators!.liveAgent.stats.maxConcurrentPolls <= 1;
    }

    /** `message/send` calls Haptik accepted but has not answered yet. */
    function heldSends(): number {
        return emulators!.haptik.calls.filter(
            (c) => c.path === '/tract/message/send/' && JSON.stringify(c.body).includes('agent: 2')
        ).length;
    }

    /** Sends through every live instance in turn, starting at `offset`: consecutive requests change instance. */
    function via(index: number): HaptikSender {
        const live = senders.filter((_, i) => instances[i] !== undefined);
        return live[index % live.length]!;
    }

    it('keeps every conversation going across instances and through a SIGKILL, nothing lost, only sends in flight repeated', async () => {
        const { haptik } = emulators!;
        const chat = agent;
        const chats: Chat[] = [];

        // Any instance takes any request.
        for (let i = 0; i < CHATS; i += 1) {
            const userId = `multi-${i}`;
            const reply = await via(i).handover(
                integrationRequest({ userId, userName: `multi_user_${i}`, node: 'talk_to_agent' })
            );
            expect(reply.status).toBe(200);
            const handoverId = (reply.body as { conversation_details: { handover_id: string } }).conversation_details
                .handover_id;
            const key = `${BUSINESS_ID}:${userId}:1`;
            const conversationId = await eventually(
                () =>
                    chat
                        .conversations()
                        .find(
                            (x) =>
                                x.conversationId === handoverId ||
                                x.conversationKey === key ||
                                ('endUserId' in x && x.endUserId === `haptik:${BUSINESS_ID}:${userId}`)
                        )?.conversationId,
                30_000
            );
            chats.push({ userId, handoverId, conversationId });
        }
        for (const [i, c] of chats.entries()) chat.accept(c.conversationId, `Agent ${i}`);
        await eventually(
            () =>
                chats.every((c) =>
                    haptik.messagesTo(c.userId).some((m) => m.text.startsWith('You are now chatting with'))
                )
                    ? true
                    : undefined,
            60_000
        );

        // Each open chat's stream is read by exactly one instance.
        const owners = await streamOwners();
        expect([...owners.values()].reduce((a, b) => a + b, 0)).toBe(CHATS);
        expect(owners.has('none')).toBe(false);
        expect(oneReaderPerChat()).toBe(true);

        // One user's consecutive messages arrive at different instances and still reach the agent in order.
        for (const [i, c] of chats.entries()) {
            chat.agentMessage(c.conversationId, 'agent: 1');
            for (const [n, text] of ['user: 1', 'user: 2'].entries()) {
                const reply = await via(i + n).tractMessage(
                    tractMessage({ userId: c.userId, messageId: 10 + n, text })
                );
                expect(reply.status).toBe(200);
            }
        }
        await eventually(
            () =>
                chats.every((c) => agentTexts(c.userId).length === 1 && userTextsAtAgent(c.conversationId).length === 2)
                    ? true
                    : undefined,
            60_000
        );

        // SIGKILL the instance reading the most streams (BYOC: the one holding the org's subscription); the agents
        // keep writing meanwhile.
        const ownerIds = [...(await streamOwners()).entries()].sort((a, b) => b[1] - a[1]);
        const holder = api === 'byoc' ? await subscriptionHolder() : null;
        const victimOwner = holder ?? ownerIds[0]![0];
        const victimChats = (
            await db!.query<{ id: string }>('SELECT id FROM handover_sessions WHERE stream_owner = $1', [victimOwner])
        ).rows.map((r) => r.id);
        expect(victimChats.length).toBeGreaterThan(0);
        const victim = Number(victimOwner.replace('bridge-', ''));
        // The agents write while Haptik holds its answers: the instances' sends are in flight when one dies.
        haptik.holdSendAnswers();
        for (const c of chats) chat.agentMessage(c.conversationId, 'agent: 2');
        // More sends held than the survivors have outbox slots: the victim has some in flight too.
        await eventually(() => (heldSends() > (INSTANCES - 1) * OUTBOX_CONCURRENCY ? true : undefined), 30_000);
        await instances[victim]!.kill('SIGKILL');
        instances[victim] = undefined;
        await haptik.releaseSendAnswers();

        for (const c of chats) chat.agentMessage(c.conversationId, 'agent: 3');
        for (const [i, c] of chats.entries()) {
            const reply = await via(i).tractMessage(tractMessage({ userId: c.userId, messageId: 12, text: 'user: 3' }));
            expect(reply.status).toBe(200);
        }

        // The survivors take the dead instance's streams over and resume them from their cursors.
        await eventually(() => (chats.every((c) => agentTexts(c.userId).length === 3) ? true : undefined), 60_000);
        await eventually(
            () => (chats.every((c) => userTextsAtAgent(c.conversationId).length === 3) ? true : undefined),
            60_000
        );
        const after = await streamOwners();
        expect(after.has(victimOwner)).toBe(false);
        // BYOC: a survivor took the org's subscription over.
        if (api === 'byoc') expect([null, victimOwner]).not.toContain(await subscriptionHolder());
        expect(after.has('none')).toBe(false);
        expect([...after.values()].reduce((a, b) => a + b, 0)).toBe(CHATS);
        // The dead process's connections are gone; each chat has one reader again.
        await eventually(() => (oneReaderPerChat() ? true : undefined), 20_000);

        // The agents end every chat; each user is handed back to the bot once.
        for (const c of chats) chat.end(c.conversationId);
        await eventually(
            () =>
                chats.every((c) =>
                    haptik.calls.some(
                        (call) =>
                            call.path === '/tract/thread_control/request' &&
                            (call.body as { user_id?: string }).user_id === c.userId
                    )
                )
                    ? true
                    : undefined,
            60_000
        );

        // The dead instance had sends in flight: those, and only those, were sent again.
        const repeated = chats.flatMap((c) => sendsPerMessage(haptik, c.userId).filter((m) => m.sends > 1));
        expect(repeated.length).toBeGreaterThan(0);
        expect(repeated.every((m) => m.answerLost && m.text === 'agent: 2')).toBe(true);
        for (const c of chats) {
            expect(agentTexts(c.userId)).toEqual(['agent: 1', 'agent: 2', 'agent: 3']);
            expect(userTextsAtAgent(c.conversationId)).toEqual(['user: 1', 'user: 2', 'user: 3']);
            expectDuplicatesOnlyFromLostSends(haptik, c.userId);
        }
        // The bridge logged each agent message once per conversation, whichever instance relayed it.
        const logged = await db!.query<{ n: string }>(
            `SELECT count(*) AS n FROM message_log WHERE direction = 'out' AND sender = 'agent'`
        );
        expect(Number(logged.rows[0]!.n)).toBe(CHATS * 3);

        expect((await streamOwners()).size).toBe(0);
        // Live Agent ends a chat when two polls of one session meet (409): that never happened.
        if (api === 'legacy') expect(emulators!.liveAgent.stats.conflicts).toBe(0);
    });
});
