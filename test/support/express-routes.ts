import type { Express } from 'express';

/**
 * The routes an Express 5 app serves, read from its router stack, so a test can compare them with the
 * documentation without anyone keeping a second list. Paths use OpenAPI's `{param}` form.
 */
export interface AppRoute {
    method: string;
    path: string;
}

interface StackLayer {
    route?: { path: unknown; methods: Record<string, boolean> };
    handle?: { stack?: unknown };
    rawPath?: unknown;
    slash?: boolean;
}

export function listExpressRoutes(app: Express): AppRoute[] {
    const routes: AppRoute[] = [];
    walk(app.router.stack as unknown as StackLayer[], '', routes);
    return routes.sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
}

function walk(stack: readonly StackLayer[], prefix: string, out: AppRoute[]): void {
    for (const layer of stack) {
        if (layer.route !== undefined) {
            const path = joinPath(prefix, pathOf(layer.route.path));
            for (const [method, enabled] of Object.entries(layer.route.methods)) {
                if (enabled) out.push({ method: method.toUpperCase(), path: openApiPath(path) });
            }
            continue;
        }
        const nested = layer.handle?.stack;
        if (Array.isArray(nested)) {
            walk(nested as StackLayer[], layer.slash === true ? prefix : joinPath(prefix, pathOf(layer.rawPath)), out);
        }
    }
}

/** Regular-expression or array paths cannot be documented as one path; failing loudly beats guessing. */
function pathOf(raw: unknown): string {
    if (typeof raw !== 'string') throw new Error(`cannot list a route whose path is not a string: ${String(raw)}`);
    return raw;
}

function joinPath(prefix: string, path: string): string {
    const joined = `${prefix}/${path}`.replace(/\/{2,}/g, '/');
    return joined.length > 1 ? joined.replace(/\/$/, '') : joined;
}

function openApiPath(path: string): string {
    return path.replace(/:(\w+)/g, '{$1}');
}
