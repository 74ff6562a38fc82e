import { pipeline } from 'node:stream/promises';
import express from 'express';
import type { Request, Response, Router } from 'express';
import { errorSummary } from '../core/errors';
import type { FileLinkClaims, FileLinks } from '../files/file-links';
import type { Logger } from '../observability/logger';
import { httpError } from './http-errors';

/**
 * `GET /files/{token}` (issue 18): serves one agent attachment to the user through a signed, expiring link. The
 * link names the chat and the attachment; the `source` port (wired by the composition root) fetches the file
 * from Salesforce with that chat's credentials and the route streams it through, never holding it whole.
 * There is nothing to list: `/files/` alone is a 404 like any unknown route.
 */
export interface FileSource {
    /**
     * Opens the file a link names. Throws `bridge_files_gone` (410) when the chat or file is no longer there,
     * `bridge_files_unavailable` (503) when Salesforce cannot be reached.
     */
    open(claims: FileLinkClaims, signal: AbortSignal): Promise<OpenedFile>;
}

export interface OpenedFile {
    body: AsyncIterable<Uint8Array>;
    /** The type Salesforce gave; else the one the link names. */
    contentType?: string;
    contentLength?: number;
}

export interface FileRouteDeps {
    links: FileLinks;
    source: FileSource;
    logger: Logger;
}

/** Pictures a chat shows in place; anything else (SVG included: it can carry script) is a download. */
const INLINE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/heic']);

export function createFileRouter(deps: FileRouteDeps | undefined): Router {
    const router = express.Router();
    router.get('/:token', async (req: Request, res: Response) => {
        res.locals.route = '/files/{token}';
        if (deps === undefined) {
            throw httpError('bridge_http_not_enabled', 'File links are not enabled (BRIDGE_PUBLIC_URL is unset)');
        }
        const claims = deps.links.verify(String(req.params.token ?? ''));
        const aborted = new AbortController();
        // The user went away: stop fetching from Salesforce too.
        res.on('close', () => aborted.abort());
        const file = await deps.source.open(claims, aborted.signal);
        const contentType =
            claims.contentType !== '' ? claims.contentType : (file.contentType ?? 'application/octet-stream');
        const remaining = Math.max(0, claims.expiresAt - Math.floor(Date.now() / 1000));
        res.status(200);
        res.setHeader('Content-Type', contentType);
        if (file.contentLength !== undefined) res.setHeader('Content-Length', String(file.contentLength));
        res.setHeader('Content-Disposition', contentDisposition(INLINE_TYPES.has(contentType), claims.name));
        // The file is the agent's, not the bridge's: it must not run as a page on the bridge's origin.
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
        res.setHeader('Referrer-Policy', 'no-referrer');
        res.setHeader('Cache-Control', `private, max-age=${remaining}`);
        try {
            await pipeline(file.body, res);
        } catch (error) {
            // Headers are gone already: the connection is cut, which the user's client sees as a broken download.
            if (!aborted.signal.aborted) {
                deps.logger.warn({ error: errorSummary(error) }, 'file link download broke off');
            }
        }
    });
    return router;
}

/** `inline` for images (shown in the chat), `attachment` for the rest; the name in both RFC 6266 forms. */
function contentDisposition(inline: boolean, name: string): string {
    const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
    return `${inline ? 'inline' : 'attachment'}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
