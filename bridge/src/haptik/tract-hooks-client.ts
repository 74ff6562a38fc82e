import { BridgeError } from '../core/errors';
import { createHaptikCall } from './haptik-client';
import type { HaptikCallOptions } from './haptik-client';

/**
 * TRACT hook management (haptik.md §A3): `POST /tract/hooks/register/ {category, subcategory, url}` and
 * `GET /tract/hooks/list/`. Used by the operator tools only, never by the running bridge. Errors are the
 * Haptik client's (`bridge_haptik_unauthorized` on 401, …).
 */
export interface TractHook {
    category: string;
    subcategory: string;
    url: string;
}

export interface TractHooksClient {
    list(): Promise<TractHook[]>;
    register(hook: TractHook): Promise<void>;
}

/** `options.baseUrl` is the TRACT base URL (HAPTIK_TRACT_URL); `bearer` its token (tract-auth.ts). */
export function createTractHooksClient(options: HaptikCallOptions): TractHooksClient {
    const call = createHaptikCall(options);
    return {
        async list() {
            return parseHookList(await call('hooks/list', 'GET', '/tract/hooks/list/'));
        },
        async register(hook) {
            await call('hooks/register', 'POST', '/tract/hooks/register/', {
                category: hook.category,
                subcategory: hook.subcategory,
                url: hook.url
            });
        }
    };
}

/**
 * The list answer is documented only as "updated hooks are available at /tract/hooks/list"; its shape
 * follows the hook names (`registered_webhooks[category][subcategory]` = url). A flat list of
 * `{category, subcategory, url}` is read too, in case an installation answers that way.
 */
export function parseHookList(answer: unknown): TractHook[] {
    const root = isRecord(answer) ? (answer.registered_webhooks ?? answer.hooks ?? answer) : answer;
    const hooks: TractHook[] = [];
    if (Array.isArray(root)) {
        for (const item of root) {
            if (!isRecord(item)) continue;
            const { category, subcategory, url } = item;
            if (typeof category === 'string' && typeof subcategory === 'string' && typeof url === 'string') {
                hooks.push({ category, subcategory, url });
            }
        }
        return hooks;
    }
    if (!isRecord(root)) {
        throw new BridgeError('bridge_haptik_rejected', 'Haptik answered hooks/list with something that is no list', {
            details: { operation: 'hooks/list', retryable: false }
        });
    }
    for (const [category, bySubcategory] of Object.entries(root)) {
        if (!isRecord(bySubcategory)) continue;
        for (const [subcategory, url] of Object.entries(bySubcategory)) {
            if (typeof url === 'string') hooks.push({ category, subcategory, url });
        }
    }
    return hooks;
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}
