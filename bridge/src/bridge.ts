import type { BridgeConfig } from './config/env';
import type { BridgeSettings } from './config/mapping-file';
import type { LookupRequest } from './core/customer-lookup';
import { createHaptikClient } from './haptik/haptik-client';
import type { HaptikClient } from './haptik/haptik-client';
import { textHsl } from './haptik/hsl';
import type { HaptikIntegrationRequest } from './haptik/payloads';
import { createApp } from './http/app';
import type { HaptikRouteHandlers } from './http/app';
import { startHttpServer } from './http/server';
import type { Logger } from './observability/logger';
import type { Metrics } from './observability/metrics';
import { createCrmDirectory } from './salesforce/crm-directory';
import { createSalesforceClient } from './salesforce/salesforce-client';
import type { SalesforceClient } from './salesforce/salesforce-client';
import { createCustomerLookupService } from './services/customer-lookup-service';
import { outboundJobHandlers } from './services/outbound-jobs';
import type { Db } from './store/db';
import { recordInboundEvent } from './store/inbox';
import { openDb } from './store/open-db';
import { listDeadJobs, retryAllDead, retryDeadJob } from './store/outbox';
import { createOutboxWorker } from './store/outbox-worker';
import type { OutboxWorker } from './store/outbox-worker';

/**
 * The composition root: opens the database, builds the adapters around the core, and serves Haptik.
 * Everything comes in as arguments (main.ts reads the environment), so tests and the demo start the
 * same bridge the operator runs.
 */
export interface BridgeOptions {
    config: BridgeConfig;
    settings: BridgeSettings;
    logger: Logger;
    metrics: Metrics;
    clock?: { now(): Date };
    /** Schema on the PostgreSQL server (tests use one per run). */
    databaseSchema?: string;
    /** Listen address; default all interfaces. */
    host?: string;
    /** Outbox tuning for tests and the demo. */
    outbox?: { pollIntervalMs?: number; backoff?: { baseMs: number; maxMs: number }; maxAttempts?: number };
}

export interface RunningBridge {
    url: string;
    port: number;
    db: Db;
    salesforce: SalesforceClient;
    haptik: HaptikClient;
    outbox: OutboxWorker;
    /** Stops taking requests, finishes in-flight requests and jobs, closes the database. */
    stop(): Promise<void>;
}

const systemClock = { now: (): Date => new Date() };

function lookupRequestOf(request: HaptikIntegrationRequest): LookupRequest {
    return {
        user: {
            auth_id: request.user.auth_id ?? undefined,
            user_name: request.user.user_name ?? undefined,
            user_id: request.user.user_id ?? undefined
        },
        user_details: request.user_details ?? undefined,
        conversation_details: request.conversation_details ?? undefined,
        entities: request.entities
    };
}

export async function startBridge(options: BridgeOptions): Promise<RunningBridge> {
    const { config, settings, logger, metrics } = options;
    const clock = options.clock ?? systemClock;
    const db = await openDb({ ...config.database, schema: options.databaseSchema }, logger);

    const salesforce = createSalesforceClient(config.salesforce, { logger, metrics, clock });
    const haptik = createHaptikClient({ ...config.haptik, logger });
    const outbox = createOutboxWorker({
        db,
        handlers: outboundJobHandlers({ haptik, salesforce }),
        clock,
        logger,
        metrics,
        ...options.outbox
    });

    const customerLookup = createCustomerLookupService({
        directory: createCrmDirectory(salesforce, { personAccounts: settings.lookup.personAccounts }),
        rules: settings.lookup,
        metrics,
        logger,
        toHsl: (text) => textHsl(text)
    });

    const handlers: HaptikRouteHandlers = {
        // The webhook is answered only once the event is stored; a redelivery is recognised and not redone.
        webhook: async ({ payload, eventId }) => {
            const { duplicate } = await recordInboundEvent(db, { source: 'haptik.webhook', eventId, payload });
            return { status: 200, body: { status: duplicate ? 'duplicate' : 'accepted' } };
        },
        customer: async ({ payload }) => ({ status: 200, body: await customerLookup.lookup(lookupRequestOf(payload)) })
    };

    const app = createApp({
        webhookSecret: config.haptik.webhookSecret,
        adminToken: config.adminToken,
        logger,
        metrics,
        haptik: handlers,
        readiness: [
            { name: 'database', check: async () => void (await db.query('SELECT 1')) },
            { name: 'salesforce', check: () => salesforce.authorize() }
        ],
        admin: {
            listDead: (limit) => listDeadJobs(db, limit),
            retryDead: async (id) => {
                const retried = await retryDeadJob(db, id);
                outbox.notify();
                return retried;
            },
            retryAllDead: async () => {
                const count = await retryAllDead(db);
                outbox.notify();
                return count;
            }
        }
    });

    const server = await startHttpServer(app, { port: config.port, ...(options.host ? { host: options.host } : {}) });
    outbox.start();
    logger.info({ url: server.url, database: db.kind, chatApi: config.salesforce.chat.api }, 'bridge started');

    let stopping: Promise<void> | undefined;
    return {
        url: server.url,
        port: server.port,
        db,
        salesforce,
        haptik,
        outbox,
        stop() {
            stopping ??= (async () => {
                await server.close();
                await outbox.stop();
                await db.close();
                logger.info('bridge stopped');
            })();
            return stopping;
        }
    };
}
