/**
 * Text as PostgreSQL and Salesforce can take it. Both refuse a NUL, and a lone surrogate (half of a
 * UTF-16 pair, which JSON may carry as `\ud83d`) has no UTF-8 form: jsonb refuses it, and a `.slice`
 * through an emoji makes one. Pure: no I/O.
 */

// Control characters are what these patterns look for.
/* eslint-disable no-control-regex */
const NUL_OR_SURROGATE = /[\u0000\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** C0 controls (NUL included) and DEL: never part of an id or an event name. */
const CONTROL = /[\u0000-\u001f\u007f]/;
const NUL = /\u0000/g;
/* eslint-enable no-control-regex */

/** `value` without NULs and with each lone surrogate replaced by U+FFFD (what a UTF-8 decoder does). */
export function cleanText(value: string): string {
    if (!NUL_OR_SURROGATE.test(value)) return value;
    return value.replace(NUL, '').replace(LONE_SURROGATE, '\ufffd');
}

/** Whether an identifier is stored as sent: no control character and no lone surrogate. */
export function isPlainId(value: string): boolean {
    return !CONTROL.test(value) && value.replace(LONE_SURROGATE, '') === value;
}

/**
 * The first `max` UTF-16 units of `value` (Salesforce counts lengths in them), one fewer when the cut
 * would split a surrogate pair; so a cut never makes a lone surrogate.
 */
export function cutText(value: string, max: number): string {
    if (value.length <= max) return value;
    if (max <= 0) return '';
    const last = value.charCodeAt(max - 1);
    return value.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

/**
 * A parsed JSON value with every string and key cleaned (cleanText); new objects are built only where
 * something changed. Keys are defined as own keys, so `__proto__` stays data. Callers bound the depth.
 */
export function cleanJson<T>(value: T): T {
    return cleanValue(value) as T;
}

function cleanValue(value: unknown): unknown {
    if (typeof value === 'string') return cleanText(value);
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) {
        let changed = false;
        const out = value.map((item: unknown) => {
            const cleaned = cleanValue(item);
            if (cleaned !== item) changed = true;
            return cleaned;
        });
        return changed ? out : value;
    }
    let changed = false;
    const entries = Object.entries(value).map(([key, item]): [string, unknown] => {
        const cleanKey = cleanText(key);
        const cleaned = cleanValue(item);
        if (cleanKey !== key || cleaned !== item) changed = true;
        return [cleanKey, cleaned];
    });
    return changed ? Object.fromEntries(entries) : value;
}

/** `template` with each `{name}` replaced by `values[name]` (by nothing when it has none). */
export function fillPlaceholders(template: string, values: Readonly<Record<string, string>>): string {
    return template.replace(/\{(\w+)\}/g, (_, key: string) => values[key] ?? '');
}
