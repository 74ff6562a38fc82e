/**
 * The chat adapters' HTTP calls end at a deadline (issue 16 defect 2): an exchange whose headers came but
 * whose body never does is cut at its timeout, a call with its retries at the call's deadline, with a
 * coded, retryable error for the outbox; a Live Agent long poll keeps its own, longer deadline.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isBridgeError } from '../../bridge/src/core/errors';
import { silentLogger } from '../../bridge/src/observability/logger';
import { createScrtClient } from '../../bridge/src/salesforce/enhanced-chat/scrt-client';
import { createLiveAgentClient } from '../../bridge/src/salesforce/legacy-chat/live-agent-client';
import { openRequest, startHarness } from '../live-agent/harness';

/** A server that answers every request with a status line and headers, then never sends the body. */
async function stallingServer(): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
    let requests = 0;
    const server = createServer((_req, res) => {
        requests += 1;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        requests: () => requests,
        close: () =>
            new Promise<void>((resolve) => {
                server.close(() => resolve());
                server.closeAllConnections();
            })
    };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
    const bound = new Promise<string>((resolve) => setTimeout(() => resolve('still pending'), 8000).unref());
    return Promise.race([
        promise.then(
            () => 'resolved',
            (error: unknown) => error
        ),
        bound
    ]);
}

describe('chat call deadlines', () => {
    it('Enhanced Chat: a call whose answers stall after the headers ends at its deadline, coded and retryable', async () => {
        const server = await stallingServer();
        try {
            const client = createScrtClient({
                scrtUrl: server.url,
                orgId: '00DHp00000EmuLAT0R',
                esDeveloperName: 'Haptik',
                logger: silentLogger(),
                fetch,
                retry: { attempts: 20, baseMs: 10, maxMs: 20 },
                requestTimeoutMs: 200,
                deadlineMs: 700
            });
            const error = await failure(client.unauthenticatedToken());
            expect(isBridgeError(error, 'bridge_chat_timeout')).toBe(true);
            expect((error as { details: Record<string, unknown> }).details).toMatchObject({ retryable: true });
            expect(server.requests()).toBeLessThanOrEqual(4);
        } finally {
            await server.close();
        }
    });

    it('Live Agent: a POST whose answers stall ends at the call deadline, coded and retryable', async () => {
        const server = await stallingServer();
        try {
            const client = createLiveAgentClient({
                endpoint: `${server.url}/chat`,
                apiVersion: '64',
                logger: silentLogger(),
                fetch,
                retry: { attempts: 20, baseMs: 10, maxMs: 20 },
                requestTimeoutMs: 200,
                deadlineMs: 700
            });
            const error = await failure(
                client.call({ method: 'GET', resource: 'System/SessionId', session: { affinityToken: null } })
            );
            expect(isBridgeError(error, 'bridge_chat_timeout')).toBe(true);
            expect(server.requests()).toBeLessThanOrEqual(4);
        } finally {
            await server.close();
        }
    });

    it('Live Agent: a held long poll is not abandoned at the request timeout (it has its own deadline)', async () => {
        const h = await startHarness({ pollHoldMs: 700 }, { requestTimeoutMs: 250 });
        try {
            const opened = await h.adapter.open(openRequest('d1'));
            h.emulator.accept(String(opened.data['sessionId']), 'Priya');
            await h.recorder.waitFor((e) => e.type === 'agent_joined');
            // Wait for a few held polls to end the way Salesforce ends them: 204 at the hold's end.
            const polls = () => h.emulator.requests.filter((r) => r.path.endsWith('/System/Messages'));
            const deadline = Date.now() + 30_000;
            while (polls().filter((r) => r.status === 204).length < 2 && Date.now() < deadline) {
                await new Promise((resolve) => setTimeout(resolve, 50));
            }
            const finished = polls().slice(0, -1);
            expect(finished.filter((r) => r.status === 204).length).toBeGreaterThanOrEqual(2);
            // Status 0: the client went away from a held poll.
            expect(finished.filter((r) => r.status === 0)).toEqual([]);
        } finally {
            await h.close();
        }
    });
});
