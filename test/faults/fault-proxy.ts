import { createServer } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A reverse proxy between the bridge and an emulator, for outages the emulator itself does not play: while
 * `down`, every connection is cut without an answer (the remote is unreachable); otherwise requests pass
 * through. It records what reached the remote and what it answered.
 */
export interface FaultProxy {
    url: string;
    /** Where requests go (set once the emulator behind it is up). */
    target: string;
    down: boolean;
    /** Requests the remote answered, in arrival order. */
    delivered: Array<{ method: string; path: string; status: number; body: string }>;
    /** Connections cut while down. */
    refused: number;
    close(): Promise<void>;
}

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
}

export async function startFaultProxy(): Promise<FaultProxy> {
    const proxy: FaultProxy = {
        url: '',
        target: '',
        down: false,
        delivered: [],
        refused: 0,
        close: () => Promise.resolve()
    };
    const server = createServer((req, res) => {
        void (async () => {
            const body = await bodyOf(req);
            if (proxy.down) {
                proxy.refused += 1;
                req.socket.destroy();
                return;
            }
            const headers = Object.fromEntries(
                Object.entries(req.headers).filter(
                    (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[0] !== 'host'
                )
            );
            const answer = await fetch(`${proxy.target}${req.url ?? '/'}`, {
                method: req.method ?? 'GET',
                headers,
                ...(body.length === 0 ? {} : { body })
            });
            const text = await answer.text();
            proxy.delivered.push({
                method: req.method ?? 'GET',
                path: req.url ?? '/',
                status: answer.status,
                body: body.toString('utf8')
            });
            res.writeHead(answer.status, { 'Content-Type': answer.headers.get('content-type') ?? 'text/plain' });
            res.end(text);
        })().catch(() => req.socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    proxy.close = () =>
        new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
        });
    return proxy;
}
