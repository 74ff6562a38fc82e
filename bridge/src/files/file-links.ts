/**
 * Signed file links (issue 18, contract §1 BRIDGE_PUBLIC_URL): `GET <BRIDGE_PUBLIC_URL>/files/{token}` gives a
 * user one agent attachment for a short time. The token is self-contained, so any instance can serve it and no
 * table has to be kept or cleaned up:
 *
 *   token = base64url(JSON claims) "." base64url(HMAC-SHA256(key, "file-link.v1." + base64url(JSON claims)))
 *
 * The claims name the chat (handover id) and the attachment (its id and Salesforce URL), the name and type
 * to serve it under, and the expiry. They are signed, not encrypted: they hold no secret (the Salesforce URL is
 * useless without the chat's access token, which stays in the bridge) and no personal data beyond the file name
 * the user is given anyway. A link serves that one file and nothing else; there is no listing.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { BridgeError } from '../core/errors';

export interface FileLinkClaims {
    /** The bridge's handover id: whose chat credentials fetch the file. */
    handoverId: string;
    /** The attachment's id in the chat (Enhanced Chat `attachments[].id`). */
    attachmentId: string;
    /** Where the chat API serves the file (Enhanced Chat `attachments[].url`). */
    url: string;
    name: string;
    contentType: string;
    /** Epoch seconds after which the link no longer works. */
    expiresAt: number;
}

export interface FileLinks {
    /** The public URL of a new link, valid for the configured time from now. */
    issue(claims: Omit<FileLinkClaims, 'expiresAt'>): string;
    /** The claims of a token, or `bridge_files_link_invalid` (tampered, malformed) / `bridge_files_link_expired`. */
    verify(token: string): FileLinkClaims;
}

export interface FileLinksOptions {
    /** BRIDGE_PUBLIC_URL, no trailing slash. */
    publicUrl: string;
    key: Buffer;
    ttlSeconds: number;
    /** Epoch milliseconds (the composition root passes the clock in). */
    now: () => number;
}

const DOMAIN = 'file-link.v1.';
/** Long enough for a Salesforce file URL and a long file name; anything longer is refused before any work. */
export const MAX_TOKEN_LENGTH = 4096;

/**
 * The HMAC key of file links: HKDF over BRIDGE_FILE_LINK_SECRET, or over the Haptik hook token/secret when no
 * dedicated secret is set, so that a link key never equals a secret used elsewhere.
 */
export function deriveLinkKey(secret: string): Buffer {
    return Buffer.from(hkdfSync('sha256', secret, 'haptik-salesforce-bridge', 'file-links', 32));
}

const sign = (key: Buffer, body: string): Buffer =>
    createHmac('sha256', key)
        .update(DOMAIN + body)
        .digest();

const invalid = (why: string): BridgeError =>
    new BridgeError('bridge_files_link_invalid', 'The file link is not valid', {
        details: { reason: why, httpStatus: 404 }
    });

export function createFileLinks(options: FileLinksOptions): FileLinks {
    return {
        issue(claims) {
            const full: FileLinkClaims = {
                ...claims,
                expiresAt: Math.floor(options.now() / 1000) + options.ttlSeconds
            };
            const body = Buffer.from(
                JSON.stringify({
                    h: full.handoverId,
                    a: full.attachmentId,
                    u: full.url,
                    n: full.name,
                    t: full.contentType,
                    e: full.expiresAt
                })
            ).toString('base64url');
            const token = `${body}.${sign(options.key, body).toString('base64url')}`;
            if (token.length > MAX_TOKEN_LENGTH) {
                throw new BridgeError(
                    'bridge_files_link_too_long',
                    'The attachment URL or name is too long for a link',
                    {
                        details: { length: token.length }
                    }
                );
            }
            return `${options.publicUrl}/files/${token}`;
        },
        verify(token) {
            if (token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/.test(token)) {
                throw invalid('malformed');
            }
            const [body = '', signature = ''] = token.split('.');
            const given = Buffer.from(signature, 'base64url');
            const expected = sign(options.key, body);
            if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid('signature');
            let raw: Record<string, unknown>;
            try {
                raw = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
            } catch {
                throw invalid('claims');
            }
            const { h, a, u, n, t, e } = raw;
            if (
                typeof h !== 'string' ||
                typeof a !== 'string' ||
                typeof u !== 'string' ||
                typeof n !== 'string' ||
                typeof t !== 'string' ||
                typeof e !== 'number'
            ) {
                throw invalid('claims');
            }
            if (Math.floor(options.now() / 1000) >= e) {
                throw new BridgeError('bridge_files_link_expired', 'The file link has expired', {
                    details: { httpStatus: 410 }
                });
            }
            return { handoverId: h, attachmentId: a, url: u, name: n, contentType: t, expiresAt: e };
        }
    };
}
