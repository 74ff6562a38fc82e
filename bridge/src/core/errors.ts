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

/** Wraps anything thrown into a BridgeError, keeping the original as the cause. */
export function asBridgeError(value: unknown, code: BridgeErrorCode, message?: string): BridgeError {
    if (value instanceof BridgeError) return value;
    const text = message ?? (value instanceof Error ? value.message : String(value));
    return new BridgeError(code, text, { cause: value });
}
