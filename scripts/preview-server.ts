// Static server for the browser preview of the LWC (preview/index.html, the rollup build and SLDS).
// Used by `npm run preview` and by the headless Chromium test; binds to loopback only.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';

export interface PreviewServerOptions {
    /** Repository root holding preview/ and node_modules/. */
    root: string;
    /** 0 picks a free port. */
    port?: number;
    host?: string;
}

export interface PreviewServer {
    url: string;
    close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
    '.html': 'text/html; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
    '.svg': 'image/svg+xml',
    '.woff2': 'font/woff2',
    '.woff': 'font/woff',
    '.png': 'image/png'
};

/** URL prefix → folder; anything else is a 404. */
function mounts(root: string): [string, string][] {
    return [
        ['/dist/', join(root, 'preview/dist')],
        ['/slds/', join(root, 'node_modules/@salesforce-ux/design-system/assets')]
    ];
}

function resolveFile(root: string, pathname: string): string | undefined {
    if (pathname === '/' || pathname === '/index.html') {
        return join(root, 'preview/index.html');
    }
    for (const [prefix, dir] of mounts(root)) {
        if (!pathname.startsWith(prefix)) {
            continue;
        }
        const file = resolve(dir, normalize(decodeURIComponent(pathname.slice(prefix.length))));
        // Never serve outside the mounted folder, whatever the path says.
        if (!file.startsWith(dir + sep)) {
            return undefined;
        }
        return existsSync(file) && statSync(file).isFile() ? file : undefined;
    }
    return undefined;
}

export async function startPreviewServer(options: PreviewServerOptions): Promise<PreviewServer> {
    const root = resolve(options.root);
    const server = createServer((req, res) => {
        const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
        const file = req.method === 'GET' || req.method === 'HEAD' ? resolveFile(root, pathname) : undefined;
        if (file === undefined) {
            res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
            return;
        }
        res.writeHead(200, {
            'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
            'cache-control': 'no-store'
        });
        if (req.method === 'HEAD') {
            res.end();
            return;
        }
        createReadStream(file).pipe(res);
    });
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((ready, fail) => {
        server.once('error', fail);
        server.listen(options.port ?? 0, host, () => ready());
    });
    const { port } = server.address() as AddressInfo;
    return {
        url: `http://${host}:${port}/`,
        close: () =>
            new Promise<void>((done, fail) => {
                server.closeAllConnections();
                server.close((error) => (error ? fail(error) : done()));
            })
    };
}
