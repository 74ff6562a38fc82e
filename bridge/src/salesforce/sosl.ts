/** Building SOSL search terms safely (the text inside `FIND {…}`). */
import { BridgeError } from '../core/errors';

// Reserved in SOSL search terms; each is escaped with a backslash (the backslash itself first).
const RESERVED = /[\\&|!(){}[\]^"~*?:'+-]/g;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Escapes a search term for `FIND {…}`; control characters (including line breaks) are refused. */
export function escapeSoslTerm(value: string): string {
    if (CONTROL.test(value)) {
        throw new BridgeError(
            'bridge_salesforce_unsafe_value',
            'The value holds a control character that cannot go into a SOSL search',
            {
                details: { length: value.length }
            }
        );
    }
    return value.replace(RESERVED, (c) => `\\${c}`);
}
