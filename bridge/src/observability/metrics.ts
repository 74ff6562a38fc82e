import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * All Prometheus metrics of one bridge process, on their own registry (never the global one), so
 * several bridges in one test process do not collide. Created once in the composition root and passed in.
 */
export interface Metrics {
    readonly registry: Registry;
    readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
    readonly outboxDepth: Gauge<'state'>;
    readonly outboxJobs: Counter<'kind' | 'outcome'>;
    readonly outboxDeadLetters: Counter<'kind'>;
    readonly salesforceApiUsed: Gauge;
    readonly salesforceApiLimit: Gauge;
    readonly salesforceCalls: Counter<'outcome'>;
    readonly cacheLookups: Counter<'cache' | 'result'>;
    readonly chatStreams: Gauge;
    readonly chatStreamTakeovers: Counter;
    readonly retentionDeleted: Counter<'table'>;
    readonly retentionLastRun: Gauge;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
    const registry = new Registry();
    if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
    return {
        registry,
        httpDuration: new Histogram({
            name: 'bridge_http_request_duration_seconds',
            help: 'Duration of inbound HTTP requests',
            labelNames: ['method', 'route', 'status'],
            buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
            registers: [registry]
        }),
        outboxDepth: new Gauge({
            name: 'bridge_outbox_jobs',
            help: 'Outbox jobs by state (pending, running, dead), read every 10 s',
            labelNames: ['state'],
            registers: [registry]
        }),
        outboxJobs: new Counter({
            name: 'bridge_outbox_job_attempts_total',
            help: 'Outbox job attempts by kind and outcome (done, retry, dead, deferred: told to wait, e.g. a rate limit)',
            labelNames: ['kind', 'outcome'],
            registers: [registry]
        }),
        outboxDeadLetters: new Counter({
            name: 'bridge_outbox_dead_letters_total',
            help: 'Outbox jobs moved to the dead-letter state',
            labelNames: ['kind'],
            registers: [registry]
        }),
        salesforceApiUsed: new Gauge({
            name: 'bridge_salesforce_api_usage',
            help: 'Daily Salesforce API requests used, from the Sforce-Limit-Info header',
            registers: [registry]
        }),
        salesforceApiLimit: new Gauge({
            name: 'bridge_salesforce_api_limit',
            help: 'Daily Salesforce API request limit, from the Sforce-Limit-Info header',
            registers: [registry]
        }),
        salesforceCalls: new Counter({
            name: 'bridge_salesforce_calls_total',
            help: 'Salesforce REST calls by outcome',
            labelNames: ['outcome'],
            registers: [registry]
        }),
        cacheLookups: new Counter({
            name: 'bridge_cache_lookups_total',
            help: 'Cache lookups by cache and result (hit, miss, shared)',
            labelNames: ['cache', 'result'],
            registers: [registry]
        }),
        chatStreams: new Gauge({
            name: 'bridge_chat_streams',
            help: 'Open chats whose Salesforce event stream this instance reads',
            registers: [registry]
        }),
        chatStreamTakeovers: new Counter({
            name: 'bridge_chat_stream_takeovers_total',
            help: 'Chat streams this instance took over from an instance that died or shut down',
            registers: [registry]
        }),
        retentionDeleted: new Counter({
            name: 'bridge_retention_deleted_total',
            help: 'Rows deleted by retention, by table',
            labelNames: ['table'],
            registers: [registry]
        }),
        retentionLastRun: new Gauge({
            name: 'bridge_retention_last_run_timestamp_seconds',
            help: 'When retention last finished a run (Unix time)',
            registers: [registry]
        })
    };
}
