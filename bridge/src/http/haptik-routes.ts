import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../core/json-depth';
import { cleanJson } from '../core/text';
import { eventIdOf, haptikRouteSchemas } from '../haptik/payloads';
import type { HaptikRouteName, HaptikRoutePayloads } from '../haptik/payloads';
import { httpError } from './http-errors';
import { verifyHaptikSignature, verifyHookKey } from './signature';

/**
 * The inbound Haptik routes (contract §2): raw body (≤ 1 MiB) → signature → JSON → schema → the
 * handler registered for the route. Handlers get a validated, typed payload and answer with a status
 * and a body; they never see Express.
 */
export interface HaptikRouteRequest<R extends HaptikRouteName = HaptikRouteName> {
    route: R;
    payload: HaptikRoutePayloads[R];
    /** Route parameters; `template` on `caseEvent`. */
    params: Readonly<Record<string, string>>;
    /** Dedupe id of the payload (see eventIdOf). */
    eventId: string;
}

export interface HaptikRouteReply {
    status: number;
    /** Sent as JSON; nothing is sent when undefined. */
    body?: unknown;
}

export type HaptikRouteHandler<R extends HaptikRouteName = HaptikRouteName> = (
    request: HaptikRouteRequest<R>
) => Promise<HaptikRouteReply>;

export type HaptikRouteHandlers = { [R in HaptikRouteName]?: HaptikRouteHandler<R> };

interface RouteDefinition<R extends HaptikRouteName> {
    name: R;
    /** Express path under /haptik; also the metrics label (prefixed by /haptik). */
    path: string;
    pattern: RegExp;
    /** Named in the 501 answer when no handler is registered. */
    feature: string;
}

export const HAPTIK_ROUTES: { readonly [R in HaptikRouteName]: RouteDefinition<R> } = {
    webhook: {
        name: 'webhook',
        path: '/webhook',
        pattern: /^\/webhook\/?$/,
        feature: 'The Bot API webhook (transcript Cases)'
    },
    tractMessage: {
        name: 'tractMessage',
        path: '/tract/message',
        pattern: /^\/tract\/message\/?$/,
        feature: 'Live agent handover (TRACT message relay)'
    },
    tractEvent: {
        name: 'tractEvent',
        path: '/tract/event',
        pattern: /^\/tract\/event\/?$/,
        feature: 'Live agent handover (TRACT events)'
    },
    customer: {
        name: 'customer',
        path: '/integrations/customer',
        pattern: /^\/integrations\/customer\/?$/,
        feature: 'Customer data lookup'
    },
    caseEvent: {
        name: 'caseEvent',
        path: '/integrations/case/:template',
        pattern: /^\/integrations\/case\/[^/]+\/?$/,
        feature: 'Case creation (ticketing)'
    },
    handover: {
        name: 'handover',
        path: '/integrations/handover',
        pattern: /^\/integrations\/handover\/?$/,
        feature: 'Live agent handover (bot integration)'
    }
};

export const HAPTIK_BODY_LIMIT_BYTES = 1024 * 1024;

const TEMPLATE_NAME = /^[A-Za-z0-9_-]{1,80}$/;

/** The route pattern of a path under /haptik, for logs and metrics; `/haptik/*` for unknown paths. */
export function haptikRouteLabel(pathUnderHaptik: string): string {
    const route = Object.values(HAPTIK_ROUTES).find((r) => r.pattern.test(pathUnderHaptik));
    return route ? `/haptik${route.path}` : '/haptik/*';
}

export function createHaptikRouter(options: {
    webhookSecret?: string | undefined;
    hookToken?: string | undefined;
    handlers: HaptikRouteHandlers;
}): Router {
    const router = express.Router();

    router.use((req: Request, res: Response, next: NextFunction) => {
        res.locals.route = haptikRouteLabel(req.path);
        next();
    });
    router.use(express.raw({ type: () => true, limit: HAPTIK_BODY_LIMIT_BYTES }));
    // Before routing, so an unknown /haptik path tells an unauthenticated caller nothing. A signature
    // (Bot API webhook, integration nodes with a secret) or the hook token in the URL (TRACT hooks, which
    // Haptik does not sign) authenticates the request (contract §2).
    router.use((req: Request, _res: Response, next: NextFunction) => {
        const signed =
            options.webhookSecret !== undefined &&
            verifyHaptikSignature({ secret: options.webhookSecret, rawBody: rawBodyOf(req), headers: req.headers });
        const keyed = options.hookToken !== undefined && verifyHookKey(options.hookToken, hookKeysOf(req));
        if (!signed && !keyed) {
            throw httpError(
                'bridge_http_bad_signature',
                'The request is not authenticated: sign the raw body with the shared webhook secret ' +
                    '(X-Hub-Signature: sha1=<hex HMAC-SHA1> or X-Hub-Signature-256: sha256=<hex HMAC-SHA256>), ' +
                    'or call the hook URL with ?key=<HAPTIK_HOOK_TOKEN>'
            );
        }
        next();
    });

    const register = <R extends HaptikRouteName>(definition: RouteDefinition<R>): void => {
        const handler = options.handlers[definition.name];
        router.post(definition.path, async (req: Request, res: Response) => {
            if (handler === undefined) {
                throw httpError(
                    'bridge_http_not_enabled',
                    `${definition.feature} is not enabled in this bridge: its route has no handler`
                );
            }
            const params = routeParams(req);
            if (params.template !== undefined && !TEMPLATE_NAME.test(params.template)) {
                throw httpError(
                    'bridge_http_bad_request',
                    'The case template name may only hold letters, digits, "_" and "-" (at most 80)'
                );
            }
            const json = parseJson(rawBodyOf(req));
            // Before the schema: its transforms, and everything after it, read the payload recursively.
            if (jsonDepthExceeds(json)) {
                throw httpError(
                    'bridge_http_invalid_body',
                    `The request body nests deeper than ${MAX_JSON_DEPTH} levels`
                );
            }
            const parsed = haptikRouteSchemas[definition.name].safeParse(json);
            if (!parsed.success) {
                const fields = [...new Set(parsed.error.issues.map((issue) => fieldName(issue.path)))];
                const reasons = parsed.error.issues.map(
                    (issue) => `${fieldName(issue.path)} ${issueReason(issue, valueAt(json, issue.path) === undefined)}`
                );
                throw httpError('bridge_http_invalid_body', `The request body is not valid: ${reasons.join('; ')}`, {
                    fields
                });
            }
            // Ids were checked by the schema; a NUL or a lone surrogate left in text cannot be stored: cleaned.
            const payload = cleanJson(parsed.data);
            const reply = await handler({
                route: definition.name,
                payload,
                params,
                eventId: eventIdOf(definition.name, payload)
            });
            if (reply.body === undefined) res.status(reply.status).end();
            else res.status(reply.status).json(reply.body);
        });
    };
    register(HAPTIK_ROUTES.webhook);
    register(HAPTIK_ROUTES.tractMessage);
    register(HAPTIK_ROUTES.tractEvent);
    register(HAPTIK_ROUTES.customer);
    register(HAPTIK_ROUTES.caseEvent);
    register(HAPTIK_ROUTES.handover);
    return router;
}

/** Every `key` of the query string, read from the URL itself (the app's query parser may merge or drop repeats). */
function hookKeysOf(req: Request): string[] {
    const at = req.originalUrl.indexOf('?');
    return at < 0 ? [] : new URLSearchParams(req.originalUrl.slice(at + 1)).getAll('key');
}

function rawBodyOf(req: Request): Buffer {
    const body: unknown = req.body;
    return Buffer.isBuffer(body) ? body : Buffer.alloc(0);
}

function routeParams(req: Request): Record<string, string> {
    const params: Record<string, string> = {};
    for (const [key, value] of Object.entries(req.params as Record<string, unknown>)) {
        if (typeof value === 'string') params[key] = value;
    }
    return params;
}

function parseJson(raw: Buffer): unknown {
    try {
        return JSON.parse(raw.toString('utf8')) as unknown;
    } catch {
        throw httpError('bridge_http_invalid_json', 'The request body is not valid JSON');
    }
}

function fieldName(path: readonly PropertyKey[]): string {
    return path.length === 0 ? '(body)' : path.map((part) => String(part)).join('.');
}

function valueAt(json: unknown, path: readonly PropertyKey[]): unknown {
    let current: unknown = json;
    for (const part of path) {
        if (typeof current !== 'object' || current === null) return undefined;
        current = (current as Record<PropertyKey, unknown>)[part];
    }
    return current;
}

/** Why a field failed, without echoing its value. */
function issueReason(issue: { code: string; message: string }, missing: boolean): string {
    if (missing && issue.code !== 'custom') return 'is required';
    switch (issue.code) {
        case 'invalid_type':
        case 'invalid_union':
            return 'has the wrong type';
        case 'too_small':
            return 'is too short or too small';
        case 'too_big':
            return 'is too long or too big';
        case 'custom':
            return issue.message;
        default:
            return 'is not valid';
    }
}
