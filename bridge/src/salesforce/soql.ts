/**
 * Building SOQL safely. Values only ever enter a query as literals made here; object and field names
 * come from configuration and are checked against the API-name pattern. Never use jsforce's find()
 * escaping: it leaves backslashes alone, so `\'` in input closes the literal early.
 */
import { BridgeError } from '../core/errors';

const ESCAPES: Readonly<Record<string, string>> = {
    '\\': '\\\\',
    "'": "\\'",
    '"': '\\"',
    '\n': '\\n',
    '\r': '\\r',
    '\t': '\\t'
};

// Other C0 controls and DEL have no SOQL escape except \b and \f, which no lookup value needs.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

function rejectControl(value: string): void {
    if (UNSAFE.test(value)) {
        throw new BridgeError(
            'bridge_salesforce_unsafe_value',
            'The value holds a control character that cannot go into a SOQL or SOSL query',
            {
                details: { length: value.length }
            }
        );
    }
}

/** Escapes text for the inside of a SOQL string literal (backslash first, then quotes and line breaks). */
export function escapeSoqlLiteral(value: string): string {
    rejectControl(value);
    return value.replace(/[\\'"\n\r\t]/g, (c) => ESCAPES[c] ?? c);
}

/** A complete SOQL string literal: `'…'`. */
export function soqlString(value: string): string {
    return `'${escapeSoqlLiteral(value)}'`;
}

/** Escapes text for a LIKE pattern, so `_` and `%` in the value match themselves; add your own wildcards around it. */
export function escapeSoqlLike(value: string): string {
    return escapeSoqlLiteral(value).replace(/[_%]/g, (c) => `\\${c}`);
}

/** Object and field API names: letters, digits and single underscores, optional namespace and `__c`-style suffix. */
const API_NAME =
    /^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?:__[A-Za-z](?:[A-Za-z0-9]|_(?!_))*)?(?:__(?:c|r|pc|mdt|e|x|b|kav|share|history|feed))?$/;

/** Throws `bridge_salesforce_invalid_name` unless `name` is a plain API name (optionally a dotted relationship path). */
export function assertApiName(name: string): string {
    const parts = name.split('.');
    if (name.length === 0 || name.length > 255 || !parts.every((p) => API_NAME.test(p))) {
        throw new BridgeError('bridge_salesforce_invalid_name', `"${name.slice(0, 80)}" is not a Salesforce API name`, {
            details: { name: name.slice(0, 80) }
        });
    }
    return name;
}
