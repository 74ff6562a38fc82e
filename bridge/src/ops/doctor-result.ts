import { isBridgeError } from '../core/errors';

/** One line of `npm run doctor`: what a check found, and for a failed one what to do. */
export type CheckStatus = 'ok' | 'failed' | 'skipped';

export interface CheckResult {
    title: string;
    status: CheckStatus;
    /** What was found. */
    detail: string;
    /** What the operator should do, for a failed check. */
    fix?: string;
}

export const ok = (title: string, detail: string): CheckResult => ({ title, status: 'ok', detail });
export const failed = (title: string, detail: string, fix: string): CheckResult => ({
    title,
    status: 'failed',
    detail,
    fix
});
export const skipped = (title: string, detail: string): CheckResult => ({ title, status: 'skipped', detail });

/** The HTTP status a BridgeError carries, if any. */
export function statusOf(error: unknown): number | undefined {
    if (!isBridgeError(error)) return undefined;
    const status = error.details.status;
    return typeof status === 'number' ? status : undefined;
}
