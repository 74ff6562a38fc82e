import { createHash, timingSafeEqual } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import { httpError } from './http-errors';

/**
 * Operator routes for the outbox's dead letters, mounted under /admin only when BRIDGE_ADMIN_TOKEN
 * is set. The outbox itself lives elsewhere; these routes only call the port below.
 */
export interface AdminPort {
    listDead(limit: number): Promise<unknown[]>;
    retryDead(id: string): Promise<boolean>;
    retryAllDead(): Promise<number>;
}

export const DEFAULT_DEAD_LIST_LIMIT = 100;
export const MAX_DEAD_LIST_LIMIT = 1000;

export function createAdminRouter(options: { adminToken: string; admin: AdminPort | undefined }): Router {
    const router = express.Router();
    const expected = digest(options.adminToken);

    router.use((req: Request, res: Response, next: NextFunction) => {
        const header = req.headers.authorization ?? '';
        const match = /^Bearer (.+)$/i.exec(header.trim());
        // Comparing digests keeps the comparison constant-time whatever the token lengths.
        if (!match?.[1] || !timingSafeEqual(digest(match[1]), expected)) {
            res.setHeader('WWW-Authenticate', 'Bearer');
            throw httpError(
                'bridge_http_unauthorized',
                'Admin routes need "Authorization: Bearer <BRIDGE_ADMIN_TOKEN>"'
            );
        }
        next();
    });

    const admin = (): AdminPort => {
        if (options.admin === undefined) {
            throw httpError('bridge_http_not_enabled', 'The outbox admin is not enabled in this bridge');
        }
        return options.admin;
    };

    router.get('/outbox/dead', async (req: Request, res: Response) => {
        res.locals.route = '/admin/outbox/dead';
        const limit = parseLimit(req.query.limit);
        const items = await admin().listDead(limit);
        res.json({ items, limit });
    });

    router.post('/outbox/dead/retry-all', async (_req: Request, res: Response) => {
        res.locals.route = '/admin/outbox/dead/retry-all';
        const retried = await admin().retryAllDead();
        res.json({ retried });
    });

    router.post('/outbox/dead/:id/retry', async (req: Request, res: Response) => {
        res.locals.route = '/admin/outbox/dead/:id/retry';
        const id = req.params.id;
        if (typeof id !== 'string' || id === '') throw httpError('bridge_http_not_found', 'No dead job has that id');
        const retried = await admin().retryDead(id);
        if (!retried) throw httpError('bridge_http_not_found', 'No dead job has that id');
        res.json({ retried: true, id });
    });

    return router;
}

function parseLimit(raw: unknown): number {
    if (raw === undefined || raw === '') return DEFAULT_DEAD_LIST_LIMIT;
    const limit = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_DEAD_LIST_LIMIT) {
        throw httpError('bridge_http_invalid_query', `limit must be a whole number from 1 to ${MAX_DEAD_LIST_LIMIT}`);
    }
    return limit;
}

function digest(value: string): Buffer {
    return createHash('sha256').update(value, 'utf8').digest();
}
