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
