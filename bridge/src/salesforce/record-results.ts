/**
 * Per-record results of sObject Collections calls (create/upsert of up to 200 records): Salesforce
 * answers 200 with one entry per record, in request order, each either a success or its own errors
 * (`statusCode`, not the `errorCode` of whole-call errors). This maps them to results and SalesforceErrors.
 */
import { SalesforceError } from './salesforce-error';

/** Most records per sObject Collections call. */
export const COLLECTION_LIMIT = 200;

export interface RecordError {
    statusCode: string;
    message: string;
    fields: string[];
}

export type UpsertManyResult = { ok: true; id: string; created: boolean } | { ok: false; error: SalesforceError };

/** Record-level codes where the same record can succeed on a later try. */
const RETRYABLE_RECORD_CODES = new Set([
    'UNABLE_TO_LOCK_ROW',
    'ALL_OR_NONE_OPERATION_ROLLED_BACK',
    'REQUEST_RUNNING_TOO_LONG',
    'SERVER_UNAVAILABLE'
]);

interface RawResult {
    id?: unknown;
    success?: unknown;
    created?: unknown;
    errors?: unknown;
}

function recordErrors(raw: unknown): RecordError[] {
    if (!Array.isArray(raw)) return [];
    return raw.map((item) => {
        const e = (item ?? {}) as { statusCode?: unknown; errorCode?: unknown; message?: unknown; fields?: unknown };
        const code =
            typeof e.statusCode === 'string'
                ? e.statusCode
                : typeof e.errorCode === 'string'
                  ? e.errorCode
                  : 'UNKNOWN_EXCEPTION';
        return {
            statusCode: code,
            message: typeof e.message === 'string' ? e.message : '',
            fields: Array.isArray(e.fields) ? e.fields.filter((f): f is string => typeof f === 'string') : []
        };
    });
}

/**
 * Salesforce messages that quote what was sent, cut out before the message reaches a log line or the
 * outbox, since that may be personal data:
 * - STRING_TOO_LONG echoes the start of the value ("Subject: data value too large: <first characters>...
 *   (max length=255)");
 * - query and search errors (INVALID_FIELD, MALFORMED_QUERY, …) echo the statement, values of its WHERE
 *   clause included ("\nSELECT … WHERE Email = 'asha@…'\n   ^\nERROR at Row:1:Column:12\nNo such column …"):
 *   the statement goes, the position and the reason stay; "unexpected token: <token>" loses the token.
 */
export function scrubSalesforceMessage(message: string): string {
    return message
        .replace(/data value too large: [\s\S]*?(\(max length=\d+\))/g, 'data value too large $1')
        .replace(/^[\s\S]*?\n(ERROR at Row:\d+:Column:\d+)\n/, '$1: ')
        .replace(/(unexpected token:)[^\n]*/g, '$1 …');
}

/** The SalesforceError for one failed record: names its fields and is retryable only for lock-type codes. */
export function recordFailure(operation: string, errors: RecordError[], externalId?: string): SalesforceError {
    const first = errors[0] ?? { statusCode: 'UNKNOWN_EXCEPTION', message: 'no error detail', fields: [] };
    const fields = [...new Set(errors.flatMap((e) => e.fields))];
    const retryable = errors.length > 0 && errors.every((e) => RETRYABLE_RECORD_CODES.has(e.statusCode));
    const text = scrubSalesforceMessage(
        errors.map((e) => `${e.statusCode}: ${e.message}`).join('; ') || `${first.statusCode}: ${first.message}`
    );
    return new SalesforceError(
        retryable ? 'bridge_salesforce_unavailable' : 'bridge_salesforce_api_error',
        `Salesforce rejected ${operation}: ${text}${fields.length ? ` (fields: ${fields.join(', ')})` : ''}`,
        {
            sfErrorCode: first.statusCode,
            fields,
            status: 200,
            retryable,
            operation,
            ...(externalId === undefined ? {} : { externalId })
        }
    );
}

/** Maps one collections answer to per-record results; a missing or odd entry is a retryable failure. */
export function upsertResults(operation: string, answer: unknown, count: number): UpsertManyResult[] {
    const list = Array.isArray(answer) ? (answer as RawResult[]) : [];
    const out: UpsertManyResult[] = [];
    for (let i = 0; i < count; i++) {
        const item = list[i];
        if (item?.success === true && typeof item.id === 'string') {
            out.push({ ok: true, id: item.id, created: item.created === true });
            continue;
        }
        const errors = recordErrors(item?.errors);
        out.push({
            ok: false,
            error:
                item === undefined
                    ? recordFailure(operation, [
                          {
                              statusCode: 'SERVER_UNAVAILABLE',
                              message: 'Salesforce returned no result for this record',
                              fields: []
                          }
                      ])
                    : recordFailure(operation, errors)
        });
    }
    return out;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
    const out: T[][] = [];
    for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
    return out;
}
