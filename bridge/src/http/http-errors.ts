import type { Response } from 'express';
import { BridgeError } from '../core/errors';
import type { BridgeErrorCode } from '../core/errors';
import { ownValue } from '../core/records';

/**
 * How errors become HTTP answers. Every error body is `{"error": {"code", "message"}}`; never a
 * stack, a cause or a request value.
 */
export interface ErrorBody {
    error: { code: string; message: string };
}

/** The HTTP layer's own codes and their statuses. */
const HTTP_STATUS_BY_CODE: Readonly<Record<string, number>> = {
    bridge_http_bad_request: 400,
    bridge_http_invalid_json: 400,
    bridge_http_invalid_body: 400,
    bridge_http_invalid_query: 400,
    bridge_http_bad_signature: 401,
    bridge_http_unauthorized: 401,
    bridge_http_not_found: 404,
    bridge_http_body_too_large: 413,
    bridge_http_unsupported_encoding: 415,
    bridge_http_internal: 500,
    bridge_http_not_enabled: 501
};

/** Suffixes other areas may use to get a status without the HTTP layer knowing their codes. */
const STATUS_BY_SUFFIX: ReadonlyArray<readonly [string, number]> = [
    ['_invalid', 400],
    ['_not_found', 404],
    ['_conflict', 409],
    ['_unavailable', 503]
];

export function httpError(code: BridgeErrorCode, message: string, details: Record<string, unknown> = {}): BridgeError {
    return new BridgeError(code, message, { details });
}

/**
 * The status of a thrown error, or undefined when it has none (then it is a 500 `bridge_http_internal`).
 * A BridgeError maps by its code, by `details.httpStatus` (400-599) or by a known code suffix.
 */
export function statusOfError(error: unknown): number | undefined {
    if (!(error instanceof BridgeError)) return undefined;
    const byCode = ownValue(HTTP_STATUS_BY_CODE, error.code);
    if (byCode !== undefined) return byCode;
    const declared = error.details.httpStatus;
    if (typeof declared === 'number' && Number.isInteger(declared) && declared >= 400 && declared <= 599) {
        return declared;
    }
    return STATUS_BY_SUFFIX.find(([suffix]) => error.code.endsWith(suffix))?.[1];
}

export function sendError(res: Response, status: number, code: string, message: string): void {
    const body: ErrorBody = { error: { code, message } };
    res.status(status).json(body);
}

/**
 * body-parser errors carry `type` and `status`, Express's own (a route parameter that is not valid
 * percent-encoding) `status` alone; they are the client's fault, never a 500.
 */
export function bodyParserError(error: unknown): BridgeError | undefined {
    if (typeof error !== 'object' || error === null || error instanceof BridgeError) return undefined;
    if (!('type' in error)) {
        const status = (error as { status?: unknown }).status;
        return typeof status === 'number' && status >= 400 && status < 500
            ? new BridgeError('bridge_http_bad_request', 'The request could not be read', { cause: error })
            : undefined;
    }
    const type = (error as { type?: unknown }).type;
    const status = (error as { status?: unknown }).status;
    if (type === 'entity.too.large') {
        return new BridgeError('bridge_http_body_too_large', 'The request body is larger than 1 MiB', {
            cause: error
        });
    }
    if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
        return new BridgeError('bridge_http_unsupported_encoding', 'The request body encoding is not supported', {
            cause: error
        });
    }
    if (typeof type === 'string' && typeof status === 'number' && status >= 400 && status < 500) {
        return new BridgeError('bridge_http_bad_request', 'The request body could not be read', { cause: error });
    }
    return undefined;
}
