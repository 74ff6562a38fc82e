import { BridgeError } from '../core/errors';
import type { TractHook, TractHooksClient } from '../haptik/tract-hooks-client';

/**
 * The TRACT hooks this bridge serves (contract §2) and how to bring Haptik's registrations in line with
 * them: a hook already pointing at the bridge is kept, a missing one is registered, one pointing
 * elsewhere (or at the bridge without the current key) is re-registered (Haptik keeps one URL per
 * category/subcategory). TRACT does not sign its hook calls, so every hook URL carries
 * `?key=<HAPTIK_HOOK_TOKEN>`; what is printed shows `key=<HAPTIK_HOOK_TOKEN>` instead of the key itself.
 */
export interface BridgeHook {
    category: string;
    subcategory: string;
    /** Path on the bridge. */
    path: string;
    /** What the bridge does with it, for the printed table. */
    purpose: string;
}

/** Kept in step with services/handover/relay-to-agent.ts `onTractMessage` and tract-events.ts `onTractEvent`. */
export const BRIDGE_TRACT_HOOKS: readonly BridgeHook[] = [
    {
        category: 'message',
        subcategory: 'receive',
        path: '/haptik/tract/message',
        purpose: "user's message to the agent"
    },
    {
        category: 'collection_state',
        subcategory: 'incomplete',
        path: '/haptik/tract/event',
        purpose: 'bot asks for an agent: start a handover'
    },
    {
        category: 'collection_state',
        subcategory: 'complete',
        path: '/haptik/tract/event',
        purpose: 'conversation complete: end the handover'
    }
];

export type HookAction = 'keep' | 'register' | 'update';

export interface HookPlanItem {
    hook: BridgeHook;
    url: string;
    action: HookAction;
    /** The URL Haptik has now, for `update`. */
    currentUrl?: string;
}

/** The bridge's public base URL, normalised: http(s), no query, no trailing slash. */
export function normaliseBridgeUrl(raw: string): string {
    const trimmed = raw.trim();
    if (!/^https?:\/\/[^\s/]+/i.test(trimmed) || !URL.canParse(trimmed)) {
        throw new BridgeError(
            'bridge_ops_bad_url',
            `The bridge URL ${JSON.stringify(trimmed)} is not an http(s) URL: give the public base URL Haptik reaches the bridge at, e.g. https://bridge.example.com`
        );
    }
    const url = new URL(trimmed);
    if (url.search !== '' || url.hash !== '') {
        throw new BridgeError('bridge_ops_bad_url', 'The bridge URL must not carry a query or fragment');
    }
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** The URL Haptik calls: the bridge's path with the hook token as `key`. */
export function hookUrl(bridgeUrl: string, hook: BridgeHook, hookToken: string): string {
    return `${bridgeUrl}${hook.path}?key=${encodeURIComponent(hookToken)}`;
}

/** A hook URL fit to print: the key replaced by its name, or marked as another one. */
export function displayUrl(url: string, hookToken: string): string {
    if (!URL.canParse(url)) return url;
    const parsed = new URL(url);
    const keys = parsed.searchParams.getAll('key');
    if (keys.length === 0) return url;
    parsed.searchParams.delete('key');
    const rest = parsed.search === '' ? '?' : `${parsed.search}&`;
    const shown = keys.length === 1 && keys[0] === hookToken ? '<HAPTIK_HOOK_TOKEN>' : '<another key>';
    return `${parsed.origin}${parsed.pathname}${rest}key=${shown}`;
}

/** Scheme, host and path of a URL, without the query. */
function withoutQuery(value: string): string {
    if (!URL.canParse(value)) return value.trim();
    const url = new URL(value.trim());
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** Trailing slashes and the case of scheme and host do not make a different endpoint. */
function sameEndpoint(a: string, b: string): boolean {
    const canonical = (value: string): string => {
        if (!URL.canParse(value)) return value.trim();
        const url = new URL(value.trim());
        return `${url.origin}${url.pathname.replace(/\/+$/, '')}${url.search}`;
    };
    return canonical(a) === canonical(b);
}

export function planHooks(bridgeUrl: string, registered: readonly TractHook[], hookToken: string): HookPlanItem[] {
    return BRIDGE_TRACT_HOOKS.map((hook) => {
        const url = hookUrl(bridgeUrl, hook, hookToken);
        const current = registered.find((r) => r.category === hook.category && r.subcategory === hook.subcategory);
        if (current === undefined) return { hook, url, action: 'register' };
        if (sameEndpoint(current.url, url)) return { hook, url, action: 'keep' };
        return { hook, url, action: 'update', currentUrl: current.url };
    });
}

/** Registers what the plan needs, in order; `done` hears of each item once it is settled. */
export async function applyHookPlan(
    client: TractHooksClient,
    plan: readonly HookPlanItem[],
    done: (item: HookPlanItem) => void = () => undefined
): Promise<void> {
    for (const item of plan) {
        if (item.action !== 'keep') {
            await client.register({ category: item.hook.category, subcategory: item.hook.subcategory, url: item.url });
        }
        done(item);
    }
}

/** Why a registered URL is not the bridge's, in a few words; undefined when it is. */
export function mismatchOf(current: string, expected: string): string | undefined {
    if (sameEndpoint(current, expected)) return undefined;
    if (withoutQuery(current) !== withoutQuery(expected)) return 'POINTS ELSEWHERE';
    const keys = URL.canParse(current) ? new URL(current).searchParams.getAll('key') : [];
    return keys.length === 0 ? 'NO KEY (calls get 401)' : 'OLD KEY (calls get 401)';
}

/** One line per planned hook, saying what was (or, in a dry run, would be) done. */
export function describePlanItem(item: HookPlanItem, dryRun: boolean, hookToken: string): string {
    const name = `${item.hook.category}/${item.hook.subcategory}`;
    const url = displayUrl(item.url, hookToken);
    switch (item.action) {
        case 'keep':
            return `= ${name} already points at ${url}`;
        case 'register':
            return `${dryRun ? 'would register' : '+ registered'} ${name} -> ${url}`;
        case 'update':
            return `${dryRun ? 'would update' : '~ updated'} ${name}: it pointed at ${displayUrl(item.currentUrl ?? '?', hookToken)}, now ${url}`;
    }
}

/** The registrations as a table, the bridge's hooks marked; keys are never printed. */
export function formatHookTable(hooks: readonly TractHook[], hookToken: string, bridgeUrl?: string): string {
    if (hooks.length === 0) return 'Haptik has no TRACT hooks registered.';
    const mine = (hook: TractHook): string => {
        const served = BRIDGE_TRACT_HOOKS.find(
            (h) => h.category === hook.category && h.subcategory === hook.subcategory
        );
        if (served === undefined) return 'not used by the bridge';
        if (bridgeUrl === undefined) return served.purpose;
        return mismatchOf(hook.url, hookUrl(bridgeUrl, served, hookToken)) ?? served.purpose;
    };
    const header = ['category', 'subcategory', 'url', 'bridge'];
    const rows = [...hooks]
        .sort((a, b) => a.category.localeCompare(b.category) || a.subcategory.localeCompare(b.subcategory))
        .map((hook) => [hook.category, hook.subcategory, displayUrl(hook.url, hookToken), mine(hook)]);
    const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
    const line = (cells: readonly string[]): string =>
        cells
            .map((cell, i) => cell.padEnd(widths[i]!))
            .join('  ')
            .trimEnd();
    return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
