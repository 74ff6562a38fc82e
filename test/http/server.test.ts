import { Agent, request } from 'node:http';
import type { RequestListener } from 'node:http';
import { startHttpServer } from '../../bridge/src/http/server';

interface Deferred {
    promise: Promise<void>;
    resolve: () => void;
}

function deferred(): Deferred {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => {
        resolve = r;
    });
    return { promise, resolve };
}

/** GET over a keep-alive agent-less socket; resolves with status, Connection header and body. */
function get(url: string): Promise<{ status: number; connection: string | undefined; body: string }> {
    return new Promise((resolve, reject) => {
        const req = request(url, { headers: { Connection: 'keep-alive' } }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (body += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
        });
        req.on('error', reject);
        req.end();
    });
}

describe('startHttpServer', () => {
    it('listens on the given host and an ephemeral port', async () => {
        const server = await startHttpServer((_req, res) => res.end('hello'), { port: 0, host: '127.0.0.1' });
        try {
            expect(server.port).toBeGreaterThan(0);
            expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
            expect((await get(`${server.url}/`)).body).toBe('hello');
        } finally {
            await server.close();
        }
    });

    it('lets an in-flight request finish on close, refuses new connections and then resolves', async () => {
        const entered = deferred();
        const release = deferred();
        const app: RequestListener = (_req, res) => {
            entered.resolve();
            void release.promise.then(() => res.end('slow done'));
        };
        const server = await startHttpServer(app, { port: 0, host: '127.0.0.1' });

        const slow = get(`${server.url}/slow`);
        await entered.promise;
        let closed = false;
        const closing = server.close().then(() => {
            closed = true;
        });

        await expect(get(`${server.url}/late`)).rejects.toThrow(/ECONNREFUSED/);
        expect(closed).toBe(false);

        release.resolve();
        const answer = await slow;
        await closing;

        expect(answer).toEqual({ status: 200, connection: 'close', body: 'slow done' });
        expect(closed).toBe(true);
    });

    it('closes idle keep-alive connections so close() does not wait for their timeout', async () => {
        const server = await startHttpServer((_req, res) => res.end('ok'), { port: 0, host: '127.0.0.1' });
        const agent = new Agent({ keepAlive: true });
        await new Promise<void>((resolve, reject) => {
            request(`${server.url}/`, { agent }, (res) => {
                res.resume();
                res.on('end', resolve);
            })
                .on('error', reject)
                .end();
        });

        const socketClosed = new Promise<void>((resolve) => {
            const sockets = Object.values(agent.freeSockets).flat();
            expect(sockets).toHaveLength(1);
            sockets[0]!.once('close', () => resolve());
        });

        await server.close();
        await socketClosed;
        agent.destroy();
    });

    it('cuts off requests still running after the shutdown cap', async () => {
        const entered = deferred();
        const server = await startHttpServer(() => entered.resolve(), {
            port: 0,
            host: '127.0.0.1',
            shutdownTimeoutMs: 50
        });
        const hanging = get(`${server.url}/never`).then(
            () => 'answered',
            (error: unknown) => (error as NodeJS.ErrnoException).code
        );
        await entered.promise;

        await server.close();

        expect(await hanging).toBe('ECONNRESET');
    });
});
