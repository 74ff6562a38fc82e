import { LRUCache } from 'lru-cache';
import { asBridgeError, BridgeError } from '../core/errors';
import { chooseRecord, confirmMatches, identifierFrom, lookupAnswer } from '../core/customer-lookup';
import type {
    CrmDirectory,
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
 * Answers the bot's CRM lookup within its budget. Identical lookups share one Salesforce search while
 * it runs and reuse its result for the TTL; failures are never cached. Cache keys hold personal data,
 * so the cache lives only in memory and nothing of it is logged.
 */
export function createCustomerLookupService(deps: {
    directory: CrmDirectory;
    rules: LookupRules;
    metrics: Metrics;
    logger: Logger;
    toHsl: (text: string) => string;
}): CustomerLookupService {
    const { directory, rules, metrics, logger } = deps;
    const cache = new LRUCache<string, Found, LookupRequest>({
        max: 10_000,
        ttl: Math.max(rules.cacheTtlMs, 1),
        fetchMethod: async (_key, _stale, { context }) => search(context)
    });

    async function search(request: LookupRequest): Promise<Found> {
        const identifier = identifierFrom(request, rules);
        if (!identifier) return { kind: 'not_found', reason: 'no_identifier' };
        const candidates = await directory.find(identifier, rules.objects, rules.extraFields);
        const matches = confirmMatches(identifier, candidates, rules);
        const record = chooseRecord(matches, rules);
        return record ? { kind: 'found', record, matches: matches.length } : { kind: 'not_found', reason: 'no_match' };
    }

    async function cachedSearch(
        key: string,
        request: LookupRequest,
        status: LRUCache.Status<string, Found, LookupRequest>
    ): Promise<Found> {
        const outcome = await cache.fetch(key, { context: request, status });
        // fetch() only resolves undefined when the fetch was aborted, which nothing here does.
        if (outcome === undefined) throw new BridgeError('bridge_crm_lookup_failed', 'CRM lookup was aborted');
        return outcome;
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
            const status: LRUCache.Status<string, Found, LookupRequest> = {};
            try {
                const outcome =
                    rules.cacheTtlMs === 0
                        ? await withinBudget(search(request))
                        : await withinBudget(cachedSearch(key, request, status));
                const result = status.fetch === 'hit' ? 'hit' : status.fetch === 'inflight' ? 'shared' : 'miss';
                metrics.cacheLookups.inc({ cache: 'crm_lookup', result });
                return lookupAnswer(outcome, rules, deps.toHsl);
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
