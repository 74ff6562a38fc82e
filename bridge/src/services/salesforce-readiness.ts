import type { SalesforceClient } from '../salesforce/salesforce-client';

/**
 * The `salesforce` readiness check. /readyz is unauthenticated and polled: asking Salesforce for a token
 * on every poll would spend the org's login limits on whoever polls, and a token held in memory says
 * nothing about a credential revoked since. So readiness is judged by the last real call: a success in
 * the last `successTtlMs` reads ready, a failure in the last `failureTtlMs` reads not ready (its code and
 * message); otherwise one cheap call is made (shared by concurrent polls), whose outcome becomes the last.
 */
export interface SalesforceReadinessOptions {
    clock: { now(): Date };
    /** Default 60 s. */
    successTtlMs?: number;
    /** Default 30 s. */
    failureTtlMs?: number;
}

export const READINESS_SUCCESS_TTL_MS = 60_000;
export const READINESS_FAILURE_TTL_MS = 30_000;

export function salesforceReadiness(
    client: Pick<SalesforceClient, 'lastOutcome' | 'probe'>,
    options: SalesforceReadinessOptions
): () => Promise<void> {
    const successTtl = options.successTtlMs ?? READINESS_SUCCESS_TTL_MS;
    const failureTtl = options.failureTtlMs ?? READINESS_FAILURE_TTL_MS;
    let probing: Promise<void> | undefined;
    return async () => {
        const last = client.lastOutcome();
        const age = last === undefined ? Infinity : options.clock.now().getTime() - last.at.getTime();
        if (last?.ok === true && age < successTtl) return;
        if (last?.ok === false && age < failureTtl) throw last.error;
        probing ??= client.probe().finally(() => {
            probing = undefined;
        });
        await probing;
    };
}
