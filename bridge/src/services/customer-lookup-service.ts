import { LRUCache } from 'lru-cache';
import { asBridgeError, BridgeError } from '../core/errors';
import { chooseRecord, confirmMatches, identifierFrom, lookupAnswer } from '../core/customer-lookup';
import type {
    CrmDirectory,
    Identifier,
    IntegrationAnswer,
    LookupOutcome,
    LookupRequest,
    LookupRules
} from '../core/customer-lookup';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';

export interface CustomerLookupService {
    lookup(request: LookupRequest): Promise<IntegrationAnswer>;
}

type Found = Exclude<LookupOutcome, { kind: 'failed' }>;

/**
 * Answers the bot's CRM lookup within its budget. A hit is answered from the cache alone: the answer was built
 * when the search ran (no timer, no promise race, no rules run again). Identical lookups share one Salesforce
 * search while it runs and reuse its answer for the TTL; failures are never cached. Cache keys hold personal
 * data, so the cache lives only in memory and nothing of it is logged.
 */
export function createCustomerLookupService(deps: {
    directory: CrmDirectory;
    rules: LookupRules;
    metrics: Metrics;
    logger: Logger;
    toHsl: (text: string) => string;
}): CustomerLookupService {
    const { directory, rules, metrics, logger } = deps;
    const cache = new LRUCache<string, IntegrationAnswer>({ max: 10_000, ttl: Math.max(rules.cacheTtlMs, 1) });
    const inflight = new Map<string, Promise<IntegrationAnswer>>();

    async function search(identifier: Identifier): Promise<Found> {
        const candidates = await directory.find(identifier, rules.objects, rules.extraFields);
        const matches = confirmMatches(identifier, candidates, rules);
        const record = chooseRecord(matches, rules);
        return record ? { kind: 'found', record, matches: matches.length } : { kind: 'not_found', reason: 'no_match' };
    }

    /** The search's answer, cached once it succeeded (a failure is thrown and cached nowhere). */
    function answerFor(key: string, identifier: Identifier): Promise<IntegrationAnswer> {
        const answer = search(identifier).then((outcome) => Object.freeze(lookupAnswer(outcome, rules, deps.toHsl)));
        if (rules.cacheTtlMs === 0) return answer;
        inflight.set(key, answer);
        return answer.then(
            (value) => {
                inflight.delete(key);
                cache.set(key, value);
                return value;
            },
            (error: unknown) => {
                inflight.delete(key);
                throw error;
            }
        );
    }

    async function withinBudget<T>(work: Promise<T>): Promise<T> {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(
                () =>
                    reject(new BridgeError('bridge_crm_timeout', `CRM lookup took longer than ${rules.timeoutMs} ms`)),
                rules.timeoutMs
            );
        });
        try {
            return await Promise.race([work, timeout]);
        } finally {
            clearTimeout(timer);
        }
    }

    return {
        async lookup(request) {
            const identifier = identifierFrom(request, rules);
            if (!identifier) {
                return lookupAnswer({ kind: 'not_found', reason: 'no_identifier' }, rules, deps.toHsl);
            }
            const key = `${identifier.kind}:${identifier.searchTerm}`;
            const cached = rules.cacheTtlMs === 0 ? undefined : cache.get(key);
            if (cached !== undefined) {
                metrics.cacheLookups.inc({ cache: 'crm_lookup', result: 'hit' });
                return cached;
            }
            const shared = inflight.get(key);
            try {
                const answer = await withinBudget(shared ?? answerFor(key, identifier));
                metrics.cacheLookups.inc({ cache: 'crm_lookup', result: shared === undefined ? 'miss' : 'shared' });
                return answer;
            } catch (error) {
                const coded = asBridgeError(error, 'bridge_crm_lookup_failed');
                // The message of a Salesforce error is scrubbed of the statement it echoes (scrubSalesforceMessage).
                const sfErrorCode = coded.details['sfErrorCode'];
                logger.warn(
                    {
                        code: coded.code,
                        ...(typeof sfErrorCode === 'string' ? { sfErrorCode } : {}),
                        cause: coded.message,
                        match: identifier.kind
                    },
                    'CRM lookup failed'
                );
                return lookupAnswer({ kind: 'failed', errorCode: coded.code }, rules, deps.toHsl);
            }
        }
    };
}
