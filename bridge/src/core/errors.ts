/**
 * Every error the bridge raises carries a stable code (`bridge_<area>_<what>`) so that callers,
 * logs and HTTP answers branch on the code, never on message text; the original error is kept as `cause`.
 */
export type BridgeErrorCode = `bridge_${string}_${string}`;

export class BridgeError extends Error {
    readonly code: BridgeErrorCode;
    /** Extra, non-personal facts for logs and operators (never secrets or user data). */
    readonly details: Readonly<Record<string, unknown>>;

    constructor(
        code: BridgeErrorCode,
        message: string,
        options: { cause?: unknown; details?: Record<string, unknown> } = {}
    ) {
        super(message, options.cause === undefined ? undefined : { cause: options.cause });
        this.name = 'BridgeError';
        this.code = code;
        this.details = options.details ?? {};
    }
}

export function isBridgeError(value: unknown, code?: BridgeErrorCode): value is BridgeError {
    return value instanceof BridgeError && (code === undefined || value.code === code);
}

export interface ErrorSummary {
    code: string;
    message: string;
    cause?: ErrorSummary;
}

/**
 * What a log line may say about an error: its code and message. Never the error object itself: driver
 * errors carry the statement's `params` and `query` (a whole payload), HTTP errors the request. A
 * BridgeError (whose message holds no personal data, by rule) adds its cause's summary; an error from
 * outside the bridge gives only its code and its message, with quoted values, e-mail addresses, long
 * numbers and URL credentials taken out, cut at 300 characters.
 */
export function errorSummary(error: unknown, depth = 2): ErrorSummary {
    if (!(error instanceof BridgeError)) {
        return {
            code: foreignCode(error),
            message: scrubForeignMessage(error instanceof Error ? error.message : String(error))
        };
    }
    const own = { code: error.code, message: error.message };
    return error.cause === undefined || depth <= 0 ? own : { ...own, cause: errorSummary(error.cause, depth - 1) };
}

function foreignCode(error: unknown): string {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && code !== '') return code;
    return error instanceof Error ? error.name : typeof error;
}

export function scrubForeignMessage(message: string): string {
    const scrubbed = message
        .replace(/\/\/[^/\s@]+@/g, '//[redacted]@')
        .replace(/"[^"]*"|'[^']*'/g, '"…"')
        .replace(/[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g, '[redacted]')
        .replace(/\d[\d -]{5,}\d/g, '[redacted]');
    return scrubbed.length > 300 ? `${scrubbed.slice(0, 300)}…` : scrubbed;
}

/** Wraps anything thrown into a BridgeError, keeping the original as the cause. */
export function asBridgeError(value: unknown, code: BridgeErrorCode, message?: string): BridgeError {
    if (value instanceof BridgeError) return value;
    const text = message ?? (value instanceof Error ? value.message : String(value));
    return new BridgeError(code, text, { cause: value });
}
