import { randomUUID } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { errorSummary } from '../core/errors';
import { fixedFieldsLogger } from '../observability/logger';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import { createAdminRouter } from './admin-routes';
import type { AdminPort } from './admin-routes';
import { createFileRouter } from './file-routes';
import type { FileRouteDeps } from './file-routes';
import { createHaptikRouter } from './haptik-routes';
import type { HaptikRouteHandlers } from './haptik-routes';
import { createHealthRouter, DEFAULT_READINESS_TIMEOUT_MS } from './health-routes';
import type { ReadinessCheck } from './health-routes';
import { bodyParserError, httpError, sendError, statusOfError } from './http-errors';

export type { AdminPort } from './admin-routes';
export type { HaptikRouteHandler, HaptikRouteHandlers, HaptikRouteReply, HaptikRouteRequest } from './haptik-routes';
export type { ReadinessCheck } from './health-routes';
export type { FileRouteDeps, FileSource, OpenedFile } from './file-routes';

/**
 * Everything the HTTP layer needs, handed in by the composition root. The app knows no database and
 * no Salesforce: Haptik routes call `haptik` handlers, readiness calls `readiness` checks, the admin
 * routes call `admin`.
 */
export interface AppDeps {
    /** HAPTIK_WEBHOOK_SECRET: a /haptik/ request signed with it is authentic. */
    webhookSecret?: string | undefined;
    /** HAPTIK_HOOK_TOKEN: a /haptik/ request whose URL carries `?key=<it>` is authentic (unsigned TRACT hooks). */
    hookToken?: string | undefined;
    /** BRIDGE_ADMIN_TOKEN: /admin/ routes exist only when it is set. */
    adminToken?: string | undefined;
    logger: Logger;
    metrics: Metrics;
    readiness: readonly ReadinessCheck[];
    /** Per check; default 5 s. */
    readinessTimeoutMs?: number;
    /** One handler per contract route; a route without one answers 501. */
    haptik: HaptikRouteHandlers;
    admin?: AdminPort | undefined;
    /** Signed file links (`GET /files/{token}`); without them the route answers 501. */
    files?: FileRouteDeps | undefined;
}

/** Routes polled every few seconds; logged at debug level so they do not drown the rest. */
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

export function createApp(deps: AppDeps): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    app.set('query parser', 'simple');

    app.use(requestLogging(deps.logger, deps.metrics));
    app.use(
        createHealthRouter({
            readiness: deps.readiness,
            readinessTimeoutMs: deps.readinessTimeoutMs ?? DEFAULT_READINESS_TIMEOUT_MS,
            metrics: deps.metrics
        })
    );
    app.use(
        '/haptik',
        createHaptikRouter({ webhookSecret: deps.webhookSecret, hookToken: deps.hookToken, handlers: deps.haptik })
    );
    app.use('/files', createFileRouter(deps.files));
    if (deps.adminToken !== undefined && deps.adminToken !== '') {
        app.use('/admin', createAdminRouter({ adminToken: deps.adminToken, admin: deps.admin }));
    }
    app.use(() => {
        throw httpError('bridge_http_not_found', 'No such route');
    });
    app.use(errorHandler(deps.logger));
    return app;
}

function requestLogging(parent: Logger, metrics: Metrics) {
    // The line holds only the fields below (the route is its pattern, never the URL with its query).
    const logger = fixedFieldsLogger(parent);
    return (req: Request, res: Response, next: NextFunction): void => {
        const started = process.hrtime.bigint();
        const requestId = randomUUID();
        res.setHeader('X-Request-Id', requestId);
        res.on('finish', () => {
            const seconds = Number(process.hrtime.bigint() - started) / 1e9;
            const route = typeof res.locals.route === 'string' ? res.locals.route : 'unmatched';
            const status = res.statusCode;
            metrics.httpDuration.observe({ method: req.method, route, status: String(status) }, seconds);
            const line = { requestId, method: req.method, route, status, durationMs: Math.round(seconds * 1e6) / 1e3 };
            if (status >= 500) logger.error(line, 'http request');
            else if (QUIET_ROUTES.has(route)) logger.debug(line, 'http request');
            else logger.info(line, 'http request');
        });
        next();
    };
}

function errorHandler(logger: Logger) {
    return (error: unknown, _req: Request, res: Response, next: NextFunction): void => {
        if (res.headersSent) {
            next(error);
            return;
        }
        const known = bodyParserError(error) ?? error;
        const status = statusOfError(known);
        if (status !== undefined && known instanceof Error && 'code' in known && typeof known.code === 'string') {
            if (status >= 500) logger.error({ error: errorSummary(known) }, 'request failed');
            sendError(res, status, known.code, known.message);
            return;
        }
        // Unknown failures: code and message go to the log (never the error object, which may carry the
        // payload), the caller learns nothing internal.
        logger.error({ error: errorSummary(error) }, 'request failed with an unexpected error');
        sendError(res, 500, 'bridge_http_internal', 'The bridge failed to handle the request');
    };
}
