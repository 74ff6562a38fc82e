import { BridgeError } from '../core/errors';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../core/json-depth';
import { cleanText } from '../core/text';

/**
 * Parameter helpers shared by the repositories. JSON goes in as text cast to jsonb because
 * node-postgres would turn a JS array into a PostgreSQL array, and dates go in as ISO strings so both
 * engines read the same instant whatever the session time zone.
 */
export function jsonParam(value: unknown): string | null {
    if (value === undefined) return null;
    // Inputs are refused deeper than this where they come in; this guards the stack of JSON.stringify.
    if (jsonDepthExceeds(value)) {
        throw new BridgeError(
            'bridge_store_json_invalid',
            `A value to store nests deeper than ${MAX_JSON_DEPTH} levels`
        );
    }
    // jsonb refuses \u0000 and lone surrogates: what reached this far is cleaned rather than failing the write.
    return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'string' ? cleanText(item) : item));
}

export function timeParam(value: Date | undefined | null): string | null {
    return value === undefined || value === null ? null : value.toISOString();
}

/** A timestamptz column read back (both engines give Date; strings are tolerated for safety). */
export function asDate(value: unknown): Date {
    return value instanceof Date ? value : new Date(String(value));
}

export function asOptionalDate(value: unknown): Date | null {
    return value === null || value === undefined ? null : asDate(value);
}

/** Characters PostgreSQL cannot hold in jsonb (or text): NUL and unpaired UTF-16 surrogates. */
// eslint-disable-next-line no-control-regex -- NUL is exactly what must be found
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function storable(text: string): string {
    return text.replace(UNSTORABLE, '\ufffd');
}

/**
 * jsonParam for values the bridge did not check (a remote's answer kept as a job result): jsonb refuses
 * NUL and lone surrogates, so each becomes U+FFFD, in keys and values alike, rather than failing the
 * statement and every row written with it.
 */
export function storableJsonParam(value: unknown): string | null {
    if (value === undefined) return null;
    return JSON.stringify(value, (_key, item: unknown) => {
        if (typeof item === 'string') return storable(item);
        if (item === null || typeof item !== 'object' || Array.isArray(item)) return item;
        const entries = Object.entries(item as Record<string, unknown>);
        if (entries.every(([key]) => storable(key) === key)) return item;
        return Object.fromEntries(entries.map(([key, v]) => [storable(key), v]));
    });
}
