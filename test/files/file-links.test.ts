import { Readable } from 'node:stream';
import { BridgeError } from '../../bridge/src/core/errors';
import { createFileLinks, deriveLinkKey } from '../../bridge/src/files/file-links';
import type { FileLinkClaims } from '../../bridge/src/files/file-links';
import type { FileSource } from '../../bridge/src/http/app';
import { silentLogger } from '../../bridge/src/observability/logger';
import { startTestBridge } from '../http/harness';
import type { TestBridge } from '../http/harness';

/**
 * Signed file links: what a token proves (this file, this chat, until then) and what `GET /files/{token}` does
 * with it over a real socket. The file source stands in for Salesforce; it records what it was asked to open.
 */
const KEY = deriveLinkKey('a-test-link-secret-of-at-least-32-chars');
const CLAIMS = {
    handoverId: 'b1f7e7e2-3b0a-4c55-9c2a-5f1c1d2e3f40',
    attachmentId: '0a1b2c3d',
    url: 'https://acme.my.salesforce-scrt.com/files/0a1b2c3d',
    name: 'Rücksende-Etikett.pdf',
    contentType: 'application/pdf'
};

function tokenOf(link: string): string {
    return link.slice(link.lastIndexOf('/') + 1);
}

function expectCode(run: () => unknown, code: string): void {
    try {
        run();
    } catch (error) {
        expect(error).toBeInstanceOf(BridgeError);
        expect((error as BridgeError).code).toBe(code);
        return;
    }
    throw new Error(`expected ${code}`);
}

describe('signed file links', () => {
    let now = Date.parse('2026-12-04T10:00:00Z');
    const links = createFileLinks({
        publicUrl: 'https://bridge.example.com',
        key: KEY,
        ttlSeconds: 3600,
        now: () => now
    });

    beforeEach(() => {
        now = Date.parse('2026-12-04T10:00:00Z');
    });

    it('issues a link under BRIDGE_PUBLIC_URL whose token gives back the claims until it expires', () => {
        const link = links.issue(CLAIMS);

        expect(link).toMatch(/^https:\/\/bridge\.example\.com\/files\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
        expect(links.verify(tokenOf(link))).toEqual({ ...CLAIMS, expiresAt: now / 1000 + 3600 });

        now += 3599_000;
        expect(links.verify(tokenOf(link)).attachmentId).toBe('0a1b2c3d');
        now += 1000;
        expectCode(() => links.verify(tokenOf(link)), 'bridge_files_link_expired');
    });

    it('refuses a token with changed claims, another key, or no signature', () => {
        const token = tokenOf(links.issue(CLAIMS));
        const [body = '', signature = ''] = token.split('.');
        const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
        const forged = Buffer.from(JSON.stringify({ ...claims, a: 'another-file', e: 9_999_999_999 })).toString(
            'base64url'
        );
        const otherKey = createFileLinks({
            publicUrl: 'https://bridge.example.com',
            key: deriveLinkKey('another-secret-another-secret-another'),
            ttlSeconds: 3600,
            now: () => now
        });

        expectCode(() => links.verify(`${forged}.${signature}`), 'bridge_files_link_invalid');
        expectCode(() => otherKey.verify(token), 'bridge_files_link_invalid');
        expectCode(() => links.verify(body), 'bridge_files_link_invalid');
        expectCode(() => links.verify(`${body}.${'A'.repeat(43)}`), 'bridge_files_link_invalid');
        expectCode(() => links.verify('x'.repeat(5000)), 'bridge_files_link_invalid');
    });

    it('derives different keys from different secrets, and never the secret itself', () => {
        expect(deriveLinkKey('one-secret')).toHaveLength(32);
        expect(deriveLinkKey('one-secret').equals(deriveLinkKey('one-secret'))).toBe(true);
        expect(deriveLinkKey('one-secret').equals(deriveLinkKey('two-secret'))).toBe(false);
        expect(deriveLinkKey('one-secret').toString('utf8')).not.toContain('one-secret');
    });

    describe('GET /files/{token}', () => {
        let bridge: TestBridge;
        const opened: FileLinkClaims[] = [];
        const PDF = Buffer.from('%PDF-1.7 return label');
        const source: FileSource = {
            open(claims) {
                opened.push(claims);
                if (claims.attachmentId === 'gone') {
                    return Promise.reject(
                        new BridgeError('bridge_files_gone', 'The chat has ended', { details: { httpStatus: 410 } })
                    );
                }
                return Promise.resolve({ body: Readable.from([PDF]), contentLength: PDF.length });
            }
        };

        beforeAll(async () => {
            bridge = await startTestBridge({ files: { links, source, logger: silentLogger() } });
        });
        afterAll(async () => {
            await bridge.close();
        });
        beforeEach(() => {
            opened.length = 0;
        });

        it('streams the one file the link names, as a download with its name', async () => {
            const response = await fetch(`${bridge.url}/files/${tokenOf(links.issue(CLAIMS))}`);

            expect(response.status).toBe(200);
            expect(Buffer.from(await response.arrayBuffer())).toEqual(PDF);
            expect(response.headers.get('content-type')).toBe('application/pdf');
            expect(response.headers.get('content-disposition')).toBe(
                `attachment; filename="R_cksende-Etikett.pdf"; filename*=UTF-8''R%C3%BCcksende-Etikett.pdf`
            );
            expect(response.headers.get('x-content-type-options')).toBe('nosniff');
            expect(response.headers.get('content-security-policy')).toContain('sandbox');
            expect(opened).toEqual([expect.objectContaining({ handoverId: CLAIMS.handoverId, url: CLAIMS.url })]);
        });

        it('shows a picture inline, and offers anything else, SVG included, as a download', async () => {
            const image = { ...CLAIMS, name: 'label.png', contentType: 'image/png' };
            const response = await fetch(`${bridge.url}/files/${tokenOf(links.issue(image))}`);
            await response.arrayBuffer();

            expect(response.headers.get('content-disposition')).toMatch(/^inline; /);

            // An SVG can carry script: never shown in place.
            const svg = { ...CLAIMS, name: 'logo.svg', contentType: 'image/svg+xml' };
            const download = await fetch(`${bridge.url}/files/${tokenOf(links.issue(svg))}`);
            await download.arrayBuffer();
            expect(download.headers.get('content-disposition')).toMatch(/^attachment; /);
        });

        it('answers 404 to a forged token and 410 to an expired link or a gone chat, without opening anything', async () => {
            const token = tokenOf(links.issue(CLAIMS));
            const forged = await fetch(`${bridge.url}/files/${token.slice(0, -2)}AA`);
            expect(forged.status).toBe(404);
            expect(await forged.json()).toEqual({
                error: { code: 'bridge_files_link_invalid', message: 'The file link is not valid' }
            });

            now += 3600_000;
            const expired = await fetch(`${bridge.url}/files/${token}`);
            expect(expired.status).toBe(410);
            expect(((await expired.json()) as { error: { code: string } }).error.code).toBe(
                'bridge_files_link_expired'
            );
            expect(opened).toEqual([]);

            now -= 3600_000;
            const gone = await fetch(
                `${bridge.url}/files/${tokenOf(links.issue({ ...CLAIMS, attachmentId: 'gone' }))}`
            );
            expect(gone.status).toBe(410);
        });

        it('lists nothing', async () => {
            expect((await fetch(`${bridge.url}/files/`)).status).toBe(404);
            expect((await fetch(`${bridge.url}/files`)).status).toBe(404);
        });
    });

    it('answers 501 when file links are off', async () => {
        const off = await startTestBridge();
        try {
            const response = await fetch(`${off.url}/files/${tokenOf(links.issue(CLAIMS))}`);
            expect(response.status).toBe(501);
        } finally {
            await off.close();
        }
    });
});
