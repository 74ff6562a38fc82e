import type { IncomingMessage, ServerResponse } from 'node:http';
import { BridgeError } from '../../bridge/src/core/errors';
import { createFileFetcher } from '../../bridge/src/files/file-fetcher';
import type { FileFetcher, FileFetcherOptions } from '../../bridge/src/files/file-fetcher';
import { DEFAULT_FILE_TYPES, parseFileTypes } from '../../bridge/src/files/file-names';
import { isSpecialAddress, parseHostRules } from '../../bridge/src/files/host-rules';
import { serveOnLoopback } from '../emulators/loopback-server';
import type { LoopbackServer } from '../emulators/loopback-server';

/**
 * The safe file fetcher against real sockets: a file host on loopback (listed exactly, as tests must) and a
 * second one that is not listed, standing for "another host" and "the bridge's own network".
 */
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
}

async function failure(promise: Promise<unknown>): Promise<BridgeError> {
    try {
        await promise;
    } catch (error) {
        expect(error).toBeInstanceOf(BridgeError);
        return error as BridgeError;
    }
    throw new Error('expected a failure');
}

describe('file fetcher', () => {
    let host: LoopbackServer;
    let other: LoopbackServer;
    const hits: string[] = [];
    const otherHits: string[] = [];
    let otherUrl = '';
    const stalled: ServerResponse[] = [];
    const fetchers: FileFetcher[] = [];

    const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
        '/photo.png': (_req, res) => {
            res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(PNG.length) });
            res.end(PNG);
        },
        '/download': (_req, res) => {
            res.writeHead(200, {
                'content-type': 'application/octet-stream',
                'content-disposition': `attachment; filename="x.bin"; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf`
            });
            res.end('%PDF-1.7');
        },
        '/big-declared.pdf': (_req, res) => {
            res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': String(10_000) });
            res.end(Buffer.alloc(10_000));
        },
        '/big-chunked.pdf': (_req, res) => {
            res.writeHead(200, { 'content-type': 'application/pdf' });
            for (let i = 0; i < 10; i++) res.write(Buffer.alloc(1000));
            res.end();
        },
        '/page.html': (_req, res) => {
            res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
            res.end('<script>alert(1)</script>');
        },
        '/stall.png': (_req, res) => {
            res.writeHead(200, { 'content-type': 'image/png' });
            res.write(PNG.subarray(0, 4));
            stalled.push(res);
        },
        '/gone.png': (_req, res) => {
            res.writeHead(404, { 'content-type': 'text/plain' });
            res.end('not found');
        },
        '/busy.png': (_req, res) => {
            res.writeHead(503);
            res.end();
        },
        '/to-self': (_req, res) => {
            res.writeHead(302, { location: '/photo.png' });
            res.end();
        },
        '/to-other': (_req, res) => {
            res.writeHead(302, { location: `${otherUrl}/secret` });
            res.end();
        },
        '/loop': (_req, res) => {
            res.writeHead(301, { location: '/loop' });
            res.end();
        }
    };

    beforeAll(async () => {
        host = await serveOnLoopback(
            (req, res) => {
                const path = new URL(req.url ?? '/', 'http://x').pathname;
                hits.push(path);
                const route = routes[path];
                if (route) route(req, res);
                else {
                    res.writeHead(404);
                    res.end();
                }
                return Promise.resolve();
            },
            (res) => {
                res.writeHead(500);
                res.end();
            }
        );
        other = await serveOnLoopback(
            (req, res) => {
                otherHits.push(req.url ?? '');
                res.writeHead(200, { 'content-type': 'image/png' });
                res.end(PNG);
                return Promise.resolve();
            },
            (res) => res.end()
        );
        otherUrl = other.url;
    });

    afterAll(async () => {
        for (const res of stalled) res.destroy();
        await Promise.all(fetchers.map((f) => f.close()));
        await host.close();
        await other.close();
    });

    beforeEach(() => {
        hits.length = 0;
        otherHits.length = 0;
    });

    const fetcher = (overrides: Partial<FileFetcherOptions> = {}): FileFetcher => {
        const created = createFileFetcher({
            hosts: parseHostRules(`assets.haptikapi.com,127.0.0.1:${host.port}`).rules,
            maxBytes: 5000,
            allowedTypes: parseFileTypes(DEFAULT_FILE_TYPES).types,
            deadlineMs: 5000,
            ...overrides
        });
        fetchers.push(created);
        return created;
    };

    it('streams a file from a host listed exactly, with its type, length and name', async () => {
        const file = await fetcher().open(`${host.url}/photo.png?sig=1`);

        expect(file).toMatchObject({ contentType: 'image/png', contentLength: PNG.length, fileName: 'photo.png' });
        expect(await readAll(file.body)).toEqual(PNG);
    });

    it('takes the name from Content-Disposition and the type from the name when the server says octet-stream', async () => {
        const file = await fetcher().open(`${host.url}/download`);

        expect(file.fileName).toBe('Rechnung März.pdf');
        expect(file.contentType).toBe('application/pdf');
        expect((await readAll(file.body)).toString()).toBe('%PDF-1.7');
    });

    it('refuses a host that is not listed, before any request', async () => {
        const error = await failure(fetcher().open(`${other.url}/photo.png`));

        expect(error.code).toBe('bridge_files_host_refused');
        expect(otherHits).toEqual([]);
    });

    it('refuses a loopback address reached by a name, even when the name is listed', async () => {
        const error = await failure(
            fetcher({ hosts: parseHostRules(`localhost:${host.port}`).rules }).open(
                `http://localhost:${host.port}/photo.png`
            )
        );

        // Plain http needs an address listed exactly; over https the address check stops it (next test).
        expect(error.code).toBe('bridge_files_url_invalid');
        expect(hits).toEqual([]);
    });

    it('checks the address the connection uses: a listed name that resolves to a private address is refused', async () => {
        const resolved: string[] = [];
        const pinned = fetcher({
            hosts: parseHostRules('*.haptikapi.com').rules,
            resolve: (name) => {
                resolved.push(name);
                return Promise.resolve([{ address: '127.0.0.1', family: 4 }]);
            }
        });

        const error = await failure(pinned.open('https://evil.haptikapi.com/photo.png'));

        expect(error.code).toBe('bridge_files_address_refused');
        expect(resolved).toEqual(['evil.haptikapi.com']);
    });

    it('refuses private, loopback, link-local and mapped addresses named in the URL unless listed exactly', async () => {
        const f = fetcher({ hosts: parseHostRules('10.0.0.5,169.254.169.254,[::ffff:127.0.0.1]:80').rules });
        for (const url of ['http://10.0.0.6/x.png', 'http://[::ffff:7f00:1]/x.png']) {
            const error = await failure(f.open(url));
            expect([url, error.code]).toEqual([url, expect.stringMatching(/^bridge_files_(host|address)_refused$/)]);
        }
        expect(isSpecialAddress('169.254.169.254')).toBe(true);
        expect(isSpecialAddress('::ffff:7f00:1')).toBe(true);
        expect(isSpecialAddress('::ffff:127.0.0.1')).toBe(true);
        expect(isSpecialAddress('fd00::1')).toBe(true);
        expect(isSpecialAddress('100.64.1.1')).toBe(true);
        expect(isSpecialAddress('52.95.110.1')).toBe(false);
        expect(isSpecialAddress('2a05:d018::1')).toBe(false);
    });

    it('follows a redirect on a listed host and refuses one to another host', async () => {
        const followed = await fetcher().open(`${host.url}/to-self`);
        expect(await readAll(followed.body)).toEqual(PNG);

        const error = await failure(fetcher().open(`${host.url}/to-other`));
        expect(error.code).toBe('bridge_files_redirect_refused');
        expect((error.cause as BridgeError).code).toBe('bridge_files_host_refused');
        expect(otherHits).toEqual([]);

        const loop = await failure(fetcher().open(`${host.url}/loop`));
        expect(loop.code).toBe('bridge_files_redirect_refused');
        expect(hits.filter((h) => h === '/loop')).toHaveLength(4);
    });

    it('refuses a file whose declared length is over the limit, and cuts one that streams past it', async () => {
        const declared = await failure(fetcher().open(`${host.url}/big-declared.pdf`));
        expect(declared.code).toBe('bridge_files_too_large');
        expect(declared.details).toMatchObject({ maxBytes: 5000, size: 10_000, retryable: false });

        const chunked = await fetcher().open(`${host.url}/big-chunked.pdf`);
        const cut = await failure(readAll(chunked.body));
        expect(cut.code).toBe('bridge_files_too_large');
    });

    it('refuses a type that is not allowed', async () => {
        const error = await failure(fetcher().open(`${host.url}/page.html`));

        expect(error.code).toBe('bridge_files_type_refused');
        expect(error.details.contentType).toBe('text/html');
    });

    it('ends a download that stalls at the whole-call deadline', async () => {
        const file = await fetcher({ deadlineMs: 300 }).open(`${host.url}/stall.png`);
        const error = await failure(readAll(file.body));

        expect(error.code).toBe('bridge_files_timeout');
        expect(error.details.retryable).toBe(true);
    });

    it('tells a missing file (final) from a busy host (retryable)', async () => {
        const gone = await failure(fetcher().open(`${host.url}/gone.png`));
        expect(gone.code).toBe('bridge_files_rejected');
        expect(gone.details).toMatchObject({ status: 404, retryable: false });

        const busy = await failure(fetcher().open(`${host.url}/busy.png`));
        expect(busy.code).toBe('bridge_files_unavailable');
        expect(busy.details).toMatchObject({ status: 503, retryable: true });
    });

    it('refuses URLs that are not plain http(s) or that carry credentials', async () => {
        const f = fetcher();
        for (const url of ['file:///etc/passwd', 'not a url', `http://user:pw@127.0.0.1:${host.port}/photo.png`]) {
            expect((await failure(f.open(url))).code).toBe('bridge_files_url_invalid');
        }
        // The asset host is listed, but only https may reach a host by name.
        expect((await failure(f.open('http://assets.haptikapi.com/x.png'))).code).toBe('bridge_files_url_invalid');
        expect(hits).toEqual([]);
    });

    it('parses BRIDGE_FILE_HOSTS entries and names the wrong ones', () => {
        expect(parseHostRules(' Assets.HaptikAPI.com , *.example.com,127.0.0.1:4100,[::1]:80 ')).toEqual({
            rules: [
                { host: 'assets.haptikapi.com', wildcard: false },
                { host: 'example.com', wildcard: true },
                { host: '127.0.0.1', port: 4100, wildcard: false },
                { host: '::1', port: 80, wildcard: false }
            ],
            problems: []
        });
        expect(parseHostRules('http://x.com,*.com,a..b,h:99999').problems).toHaveLength(4);
    });
});
