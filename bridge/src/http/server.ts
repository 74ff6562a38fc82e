import { createServer } from 'node:http';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Runs an app on a port and stops it gracefully (SIGTERM): no new connections, in-flight requests
 * finish (up to a cap), keep-alive connections are closed as soon as they are idle.
 */
export interface RunningHttpServer {
    /** `http://host:port`, with 127.0.0.1 standing in for a wildcard host. */
    url: string;
    port: number;
    /** Resolves once every connection is closed; calling it again returns the same promise. */
    close(): Promise<void>;
}

export interface HttpServerOptions {
    port: number;
    /** Default: all interfaces. */
    host?: string;
    /** How long close() waits for in-flight requests before cutting them off; default 10 s. */
    shutdownTimeoutMs?: number;
}

export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

export async function startHttpServer(app: RequestListener, options: HttpServerOptions): Promise<RunningHttpServer> {
    const server = createServer(app);
    const inFlight = new Set<ServerResponse>();
    let closing: Promise<void> | undefined;

    server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
        // Tell clients not to reuse a connection of a server that is shutting down.
        if (closing !== undefined) res.setHeader('Connection', 'close');
        inFlight.add(res);
        res.on('close', () => {
            inFlight.delete(res);
            if (closing !== undefined) server.closeIdleConnections();
        });
    });

    await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
            server.off('error', reject);
            resolve();
        });
    });

    const address = server.address() as AddressInfo;
    const wildcard = options.host === undefined || options.host === '0.0.0.0' || options.host === '::';
    const host = wildcard ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address;

    const close = (): Promise<void> => {
        closing ??= new Promise<void>((resolve) => {
            for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
            const cap = setTimeout(
                () => server.closeAllConnections(),
                options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS
            );
            cap.unref();
            server.close(() => {
                clearTimeout(cap);
                resolve();
            });
            server.closeIdleConnections();
        });
        return closing;
    };

    return { url: `http://${host}:${address.port}`, port: address.port, close };
}
