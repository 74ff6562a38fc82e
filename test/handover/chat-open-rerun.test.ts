/**
 * `chat.open` run again after a crash between asking Salesforce for the chat and storing that it was
 * opened (issue 16, suspected: confirmed). Enhanced Chat re-created the conversation with the same id and a
 * new guest token (409 → open_failed, and an orphan conversation in the agent's queue); Live Agent asked for
 * a second chat. The adapters now save their progress before the request and continue from it on a re-run:
 * one conversation, and the user's messages reach it.
 */
import type { ChatAdapter, ChatSessionState, OpenChatRequest } from '../../bridge/src/core/handover/chat-port';
import { openRequest as enhancedRequest, startHarness as startEnhanced } from '../enhanced-chat/harness';
import { openRequest as legacyRequest, startHarness as startLegacy } from '../live-agent/harness';
import type { AgentConsole } from '../emulators/agent-console';

interface World {
    console: AgentConsole;
    first: ChatAdapter;
    afterCrash: () => ChatAdapter;
    request: (handoverId: string) => OpenChatRequest;
    close(): Promise<void>;
}

async function enhancedWorld(): Promise<World> {
    const h = await startEnhanced();
    return {
        console: h.emulator,
        first: h.adapter,
        afterCrash: () => h.newAdapter().adapter,
        request: enhancedRequest,
        close: () => h.close()
    };
}

async function legacyWorld(): Promise<World> {
    const h = await startLegacy();
    return {
        console: h.emulator,
        first: h.adapter,
        afterCrash: () => h.newAdapter().adapter,
        request: legacyRequest,
        close: () => h.close()
    };
}

describe.each([
    ['enhanced', enhancedWorld],
    ['legacy', legacyWorld]
] as const)('chat.open run again after a crash (%s)', (_name, start) => {
    let world: World;

    beforeEach(async () => {
        world = await start();
    });
    afterEach(() => world.close());

    it('continues the chat the first run asked for: one conversation, and messages reach it', async () => {
        // What the core stored of the first run's progress (it crashed before storing the open result).
        let saved: ChatSessionState | undefined;
        const first = world.request('h-rerun');
        await world.first.open({
            ...first,
            saveProgress: (state) => {
                saved = state;
                return Promise.resolve();
            }
        });
        await world.first.close();
        expect(world.console.conversations()).toHaveLength(1);

        const next = world.afterCrash();
        const state = await next.open({ ...first, ...(saved === undefined ? {} : { previous: saved }) });
        const conversations = world.console.conversations();
        expect(conversations).toHaveLength(1);
        world.console.accept(conversations[0]!.conversationId, 'Priya');
        await next.sendMessage('h-rerun', state, { messageId: 'm-1', text: 'are you there?' });
        expect(world.console.messagesFrom(conversations[0]!.conversationId).map((m) => m.text)).toEqual([
            'are you there?'
        ]);
    });
});
