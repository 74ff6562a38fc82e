import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An emulator's HTTP server on loopback (port 0: any free one). `close()` cuts the open connections (held
 * long polls, SSE streams, keep-alive sockets) instead of waiting for them, so a test ends at once.
 */
export interface LoopbackServer {
    url: string;
    port: number;
    close(): Promise<void>;
}

export async function serveOnLoopback(
    handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
    /** Answers a request whose handler threw, when nothing was sent yet (each emulator in its API's error shape). */
    failed: (res: ServerResponse, error: unknown) => void,
    options: { port?: number | undefined; host?: string | undefined } = {}
): Promise<LoopbackServer> {
    const host = options.host ?? '127.0.0.1';
    const server = createServer((req, res) => {
        handle(req, res).catch((error: unknown) => {
            if (!res.headersSent) failed(res, error);
        });
    });
    await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 0, host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    return {
        url: `http://${host}:${port}`,
        port,
        close: () =>
            new Promise<void>((resolve, reject) => {
                server.close((err) => (err ? reject(err) : resolve()));
                server.closeAllConnections();
            })
    };
}
