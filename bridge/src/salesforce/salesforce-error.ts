/** The typed error every Salesforce call raises, so callers branch on codes and `retryable`, never on jsforce. */
import { BridgeError } from '../core/errors';

export type SalesforceErrorCode =
    | 'bridge_salesforce_auth_failed'
    | 'bridge_salesforce_limit_exceeded'
    | 'bridge_salesforce_api_error'
    | 'bridge_salesforce_unavailable'
    /** No complete answer before the exchange's or the call's deadline. */
    | 'bridge_salesforce_timeout';

export interface SalesforceErrorDetails extends Record<string, unknown> {
    /** Salesforce's errorCode (e.g. REQUIRED_FIELD_MISSING), or the OAuth error for auth failures. */
    sfErrorCode: string | undefined;
    /** Fields Salesforce named in the error. */
    fields: string[];
    /** HTTP status of the last answer, when there was one. */
    status: number | undefined;
    /** Whether trying the same call later can succeed (false for validation errors and unknown outcomes). */
    retryable: boolean;
    /** A create that timed out or lost its connection may or may not have been saved. */
    outcomeUnknown?: boolean;
    /** Which client call failed (query, create, upsert, …). */
    operation?: string;
}

export class SalesforceError extends BridgeError {
    declare readonly details: Readonly<SalesforceErrorDetails>;

    constructor(code: SalesforceErrorCode, message: string, details: SalesforceErrorDetails, cause?: unknown) {
        super(code, message, cause === undefined ? { details } : { details, cause });
        this.name = 'SalesforceError';
    }
}

export function isSalesforceError(value: unknown, code?: SalesforceErrorCode): value is SalesforceError {
    return value instanceof SalesforceError && (code === undefined || value.code === code);
}
