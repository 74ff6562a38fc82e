import type { BridgeConfig } from './config/env';
import { errorSummary } from './core/errors';
import type { BridgeSettings } from './config/mapping-file';
import { createHaptikClient } from './haptik/haptik-client';
import { tractBearerFor } from './haptik/tract-auth';
import { createThreadControlDirectory } from './haptik/thread-control';
import { toHaptikAnswer } from './haptik/integration-answer';
import type { IntegrationAnswerLike } from './haptik/integration-answer';
import { createUserNames } from './services/user-names';
import { createDbTractTokenStore } from './store/tract-tokens';
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
import type { SalesforceClient, SalesforceClientDeps } from './salesforce/salesforce-client';
import { createCustomerLookupService } from './services/customer-lookup-service';
import { createEventCaseService } from './services/event-case-service';
import { salesforceReadiness } from './services/salesforce-readiness';
import { createHandoverService } from './services/handover-service';
import { createStreamOwnership } from './services/stream-ownership';
import type { StreamOwnershipOptions } from './services/stream-ownership';
import type { ChatAdapter } from './core/handover/chat-port';
import { createEnhancedChatAdapter } from './salesforce/enhanced-chat';
import type { EnhancedChatAdapterOptions } from './salesforce/enhanced-chat';
import { createLegacyChatAdapter } from './salesforce/legacy-chat';
import type { LegacyChatAdapterOptions } from './salesforce/legacy-chat';
import { createByocAdapter, createByocAuth, createInteractionClient } from './salesforce/byoc';
import type { ByocAdapterOptions } from './salesforce/byoc';
import type { HandoverSettings } from './core/handover/handover-settings';
import { createTranscriptCaseService } from './services/transcript-case-service';
import { createRetentionService } from './services/retention-service';
import { createRedactor } from './core/redaction';
import type { LookupRequest } from './core/customer-lookup';
import { outboundBatchHandlers, outboundJobHandlers } from './services/outbound-jobs';
import type { Db } from './store/db';
import { recordInboundEvent } from './store/inbox';
import { openDb } from './store/open-db';
import { listDeadJobs, retryAllDead, retryDeadJob } from './store/outbox';
import { createOutboxWorker } from './store/outbox-worker';
import { createChatFileSource } from './files/chat-file-source';
import { createFileFetcher } from './files/file-fetcher';
import { createFileLinks } from './files/file-links';
import { noteAgentFileSize } from './store/handover-files';
import { getHandoverSession } from './store/handover-sessions';
import { chatStateOf } from './services/handover/session-state';
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
    /** The Salesforce chat adapter; default: the Enhanced Chat adapter when SF_CHAT_API=enhanced. */
    chatAdapter?: ChatAdapter;
    /** Enhanced Chat adapter tuning for tests and the demo (reconnect, heartbeat, rate windows). */
    enhancedChat?: EnhancedChatTuning;
    /** Legacy Chat (Live Agent) adapter tuning for tests and the demo (retries, poll backoff, waits). */
    legacyChat?: LegacyChatTuning;
    /** BYOC adapter tuning for tests and the demo (event polling, subscription lease, retries). */
    byocChat?: ByocChatTuning;
    /** Outbox tuning for tests and the demo. */
    outbox?: {
        pollIntervalMs?: number;
        backoff?: { baseMs: number; maxMs: number };
        maxAttempts?: number;
        concurrency?: number;
        /** How long a claimed job is held before another worker may take it over (a crashed one). */
        leaseMs?: number;
    };
    /** Chat stream ownership across instances: heartbeat lease and tick (tests shorten them). */
    streams?: Pick<StreamOwnershipOptions, 'instanceId' | 'leaseMs' | 'tickMs'>;
    /** Retention's interval in ms (tests shorten it); default BRIDGE_RETENTION_INTERVAL_MINUTES. */
    retentionIntervalMs?: number;
    /** Wraps the database once it is open (the benchmark counts statements with store/counting-db.ts). */
    instrumentDb?: (db: Db) => Db;
    /** Salesforce REST deadlines and retries (tests shorten them): per exchange, per call. */
    salesforceTiming?: Pick<SalesforceClientDeps, 'timeoutMs' | 'deadlineMs' | 'retry'>;
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

export type EnhancedChatTuning = Partial<
    Pick<
        EnhancedChatAdapterOptions,
        'reconnect' | 'heartbeatTimeoutMs' | 'tokenRatePerMinute' | 'messageRatePerMinute' | 'rateWindowMs' | 'retry'
    >
>;

export type LegacyChatTuning = Partial<
    Pick<
        LegacyChatAdapterOptions,
        'retry' | 'pollRetry' | 'establishWaitMs' | 'pollTimeoutMarginMs' | 'requestTimeoutMs'
    >
>;

export interface ByocChatTuning extends Partial<
    Pick<ByocAdapterOptions, 'pollMs' | 'subscription' | 'instanceId' | 'attachmentTypes'>
> {
    retry?: { attempts: number; baseMs: number; maxMs: number };
}

/** The adapter of SF_CHAT_API. */
function chatAdapterFor(
    config: BridgeConfig,
    handover: HandoverSettings,
    logger: Logger,
    metrics: Metrics,
    db: Db,
    tuning: {
        enhanced?: EnhancedChatTuning;
        legacy?: LegacyChatTuning;
        byoc?: ByocChatTuning;
        briefing: ByocAdapterOptions['briefing'];
    }
): ChatAdapter | undefined {
    const chat = config.salesforce.chat;
    const legacyTuning = tuning.legacy;
    if (chat.api === 'byoc') {
        const auth = config.salesforce.auth;
        if (auth.kind !== 'jwt') throw new Error('SF_CHAT_API=byoc needs SF_AUTH=jwt (checked by loadConfig)');
        const byocLogger = logger.child({ component: 'byoc-chat' });
        const byocAuth = createByocAuth({
            loginUrl: config.salesforce.loginUrl,
            clientId: auth.clientId,
            username: auth.username,
            privateKey: auth.privateKey
        });
        const { retry, ...adapterTuning } = tuning.byoc ?? {};
        return createByocAdapter({
            db,
            auth: byocAuth,
            client: createInteractionClient({
                scrtUrl: chat.scrtUrl,
                orgId: config.salesforce.orgId,
                channelAddress: chat.channelAddress,
                channelDefinition: chat.channelDefinition,
                auth: byocAuth,
                logger: byocLogger,
                fileTimeoutMs: config.files.timeoutMs,
                ...(retry === undefined ? {} : { retry })
            }),
            orgId: config.salesforce.orgId,
            eventTopic: chat.eventTopic,
            pubsub: chat.pubsub,
            logger: byocLogger,
            briefing: tuning.briefing,
            ...adapterTuning
        });
    }
    if (chat.api === 'legacy') {
        // The Contact is found by the pre-chat detail the admin mapped to the user's email, if any.
        const emailDetail = Object.entries(handover.routingAttributes).find(([, path]) => path === 'user.email')?.[0];
        return createLegacyChatAdapter({
            liveAgentUrl: chat.liveAgentUrl,
            orgId: config.salesforce.orgId,
            deploymentId: chat.deploymentId,
            buttonId: chat.buttonId,
            apiVersion: config.salesforce.apiVersion,
            logger: logger.child({ component: 'legacy-chat' }),
            metrics,
            availabilityCheck: handover.legacyChat?.availabilityCheck ?? true,
            transcriptFields: handover.legacyChat?.transcriptFields ?? {},
            ...(emailDetail === undefined ? {} : { contactEmailDetail: emailDetail }),
            ...legacyTuning
        });
    }
    return createEnhancedChatAdapter({
        scrtUrl: chat.scrtUrl,
        orgId: config.salesforce.orgId,
        esDeveloperName: chat.esDeveloperName,
        logger: logger.child({ component: 'enhanced-chat' }),
        metrics,
        ...tuning.enhanced
    });
}

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
    const opened = await openDb({ ...config.database, schema: options.databaseSchema }, logger);
    const db = options.instrumentDb === undefined ? opened : options.instrumentDb(opened);

    const salesforce = createSalesforceClient(config.salesforce, {
        logger,
        metrics,
        clock,
        ...options.salesforceTiming
    });
    // One TRACT token for every instance on this database (tract-auth.ts); HAPTIK_API_TOKEN when not configured.
    const tractBearer = tractBearerFor(config.haptik, { store: createDbTractTokenStore(db), clock, logger });
    const haptik = createHaptikClient({
        ...config.haptik,
        tractUrl: config.haptik.tract.url,
        tractBearer,
        logger
    });
    if (config.haptik.hookToken === undefined) {
        logger.warn(
            'HAPTIK_HOOK_TOKEN is not set: TRACT hooks (unsigned) cannot authenticate, so no handover starts from TRACT and no user message reaches an agent'
        );
    }
    const businessId = String(config.haptik.businessId);
    const threadControl = createThreadControlDirectory({
        haptik,
        configured: settings.handover.threadControl,
        clock,
        logger
    });
    const redact = createRedactor(settings.redaction.rules);
    const userNames = createUserNames({ db, haptik, businessId, logger });
    const customerLookup = createCustomerLookupService({
        directory: createCrmDirectory(salesforce, { personAccounts: settings.lookup.personAccounts }),
        rules: settings.lookup,
        metrics,
        logger,
        toHsl: (text) => textHsl(text)
    });

    // Live-agent handover: the chat adapter of SF_CHAT_API (a test may hand in its own).
    const chat =
        options.chatAdapter ??
        chatAdapterFor(config, settings.handover, logger, metrics, db, {
            ...(options.enhancedChat ? { enhanced: options.enhancedChat } : {}),
            ...(options.legacyChat ? { legacy: options.legacyChat } : {}),
            // The org subscription's holder is named like this instance's chat streams.
            byoc: {
                ...(options.streams?.instanceId === undefined ? {} : { instanceId: options.streams.instanceId }),
                ...options.byocChat
            },
            briefing: {
                header: settings.handover.briefingHeader,
                userName: settings.transcript.userName,
                botName: settings.transcript.botName,
                agentName: settings.transcript.agentName
            }
        });
    const streams = chat === undefined ? undefined : createStreamOwnership({ db, logger, metrics, ...options.streams });
    // Attachments (issue 18): users' files come only from BRIDGE_FILE_HOSTS; agents' files go out as signed
    // links under BRIDGE_PUBLIC_URL, served by GET /files/{token} with the chat's credentials.
    const fileFetcher = createFileFetcher({
        hosts: config.files.hosts,
        maxBytes: config.files.maxBytes,
        allowedTypes: config.files.allowedTypes,
        deadlineMs: config.files.timeoutMs
    });
    const fileLinks =
        config.files.publicUrl === undefined
            ? undefined
            : createFileLinks({
                  publicUrl: config.files.publicUrl,
                  key: config.files.linkKey,
                  ttlSeconds: config.files.linkTtlSeconds,
                  now: () => clock.now().getTime()
              });
    // One way to an agent's file, for the signed links and for the transcript Case: with the chat's credentials, an
    // ended chat's session let go again once the file is read, and the size learnt on the way kept for the transcript.
    const chatFiles =
        chat === undefined
            ? undefined
            : createChatFileSource({
                  adapter: chat,
                  loadChatState: async (handoverId) => {
                      // An ended chat's file stays reachable as far as Salesforce still serves it (a label sent just
                      // before the agent closed the chat; the transcript Case's copy).
                      const session = await getHandoverSession(db, handoverId);
                      return session === undefined ? undefined : chatStateOf(session);
                  },
                  onSize: ({ handoverId, attachmentId }, size) => {
                      noteAgentFileSize(db, handoverId, attachmentId, size).catch((error: unknown) => {
                          logger.warn({ handoverId, error: errorSummary(error) }, "could not record a file's size");
                      });
                  },
                  release: (handoverId) => {
                      getHandoverSession(db, handoverId)
                          .then((session) => {
                              if (session?.state === 'ended' || session?.state === 'failed') chat.detach(handoverId);
                          })
                          .catch(() => undefined);
                  }
              });
    const transcripts = createTranscriptCaseService({
        db,
        haptik,
        userNames,
        salesforce,
        settings: settings.transcript,
        businessId,
        redact,
        logger,
        files: {
            mode: config.files.transcriptFiles,
            userFiles: fileFetcher,
            agentFiles: chatFiles,
            maxBytes: config.files.maxBytes,
            timeoutMs: config.files.timeoutMs,
            // A file is given up before its job would be dead-lettered, so the transcript can say so.
            attempts: Math.max(1, Math.min(5, (options.outbox?.maxAttempts ?? 8) - 1))
        }
    });
    if (chat !== undefined && fileLinks === undefined) {
        logger.warn(
            "BRIDGE_PUBLIC_URL is not set: an agent's file reaches the user as a note naming it, not as the file"
        );
    }
    const handover =
        chat === undefined || streams === undefined
            ? undefined
            : createHandoverService({
                  db,
                  // A relayed message's job runs here right after its commit (the outbox is its retry path).
                  outbox: {
                      notify: () => outbox.notify(),
                      directClaim: () => outbox.directClaim(),
                      dispatch: (claim, prefetched) => outbox.dispatch(claim, prefetched)
                  },
                  chat,
                  streams,
                  files: { fetcher: fileFetcher, links: fileLinks, hosts: config.files.hosts },
                  settings: settings.handover,
                  businessId,
                  haptik,
                  salesforce,
                  customerLookup,
                  redact,
                  threadControl,
                  transcripts,
                  userNames,
                  logger,
                  clock,
                  names: {
                      userName: settings.transcript.userName,
                      botName: settings.transcript.botName,
                      agentName: settings.transcript.agentName
                  }
              });
    const DAY_MS = 24 * 60 * 60 * 1000;
    // BRIDGE_RETENTION_DAYS=0 keeps everything: nothing is queued, and no handler deletes.
    const retention =
        config.retention.days === 0
            ? undefined
            : createRetentionService({
                  db,
                  outbox: { notify: () => outbox.notify() },
                  settings: {
                      keepMs: config.retention.days * DAY_MS,
                      doneJobsMs: config.retention.doneJobDays * DAY_MS,
                      instancesMs: DAY_MS,
                      intervalMs: options.retentionIntervalMs ?? config.retention.intervalMinutes * 60_000
                  },
                  metrics,
                  logger,
                  clock
              });
    const outbox = createOutboxWorker({
        db,
        handlers: {
            ...outboundJobHandlers({ haptik, salesforce, threadControl }),
            ...transcripts.handlers,
            ...(retention === undefined ? {} : retention.handlers),
            ...(handover === undefined ? {} : handover.handlers)
        },
        batchHandlers: outboundBatchHandlers({ salesforce }),
        clock,
        logger,
        metrics,
        // Jobs of different keys run side by side; PGlite has one connection, so more would only queue there.
        concurrency: db.kind === 'postgres' ? 32 : 4,
        instanceId: streams?.instanceId,
        ...options.outbox
    });

    const eventCases = createEventCaseService({
        db,
        outbox: { notify: () => outbox.notify() },
        salesforce,
        customerLookup,
        settings: settings.cases,
        messages: settings.messages,
        businessId,
        redact,
        logger,
        toHsl: (text) => textHsl(text)
    });

    /** Every integration answer as Haptik takes it: string details within 500 characters (integration-answer.ts). */
    const integrationReply = <T extends IntegrationAnswerLike>(route: string, answer: T) => {
        const shaped = toHaptikAnswer(answer);
        if (shaped.leftOut.length > 0) {
            logger.warn(
                { route, leftOut: shaped.leftOut },
                "integration answer over Haptik's 500 characters; entries left out"
            );
        }
        return { status: 200, body: shaped.answer };
    };
    /** Integration calls carry the Haptik user name that TRACT hooks lack: kept for get_chat_history (written behind). */
    const remember = (payload: HaptikIntegrationRequest): Promise<void> => {
        userNames.rememberQuietly(payload.user.user_id, payload.user.user_name);
        return Promise.resolve();
    };

    const handlers: HaptikRouteHandlers = {
        // The webhook is answered only once the event is stored; a redelivery is recognised and not redone.
        // A completed conversation's transcript job is queued in the same transaction as its event.
        webhook: async ({ payload, eventId }) => {
            const inbound = { source: 'haptik.webhook', eventId };
            const { duplicate, queued } = await db.transaction(async (tx) => {
                const recorded = await recordInboundEvent(tx, { ...inbound, payload });
                if (!recorded.duplicate && payload.user.user_id != null) {
                    await userNames.remember(payload.user.user_id, payload.user.user_name, tx);
                }
                const queuedJob =
                    !recorded.duplicate && payload.event_name === 'webhook_conversation_complete'
                        ? await transcripts.onConversationComplete(tx, payload, inbound)
                        : false;
                return { duplicate: recorded.duplicate, queued: queuedJob };
            });
            if (queued) outbox.notify();
            return { status: 200, body: { status: duplicate ? 'duplicate' : 'accepted' } };
        },
        customer: async ({ payload }) => {
            const [answer] = await Promise.all([customerLookup.lookup(lookupRequestOf(payload)), remember(payload)]);
            return integrationReply('customer', answer);
        },
        caseEvent: async ({ payload, params }) => {
            const [answer] = await Promise.all([
                eventCases.createCase(params['template'] ?? '', payload),
                remember(payload)
            ]);
            return integrationReply('caseEvent', answer);
        },
        ...(handover === undefined
            ? {}
            : {
                  handover: async ({ payload }) => {
                      const [answer] = await Promise.all([handover.startFromIntegration(payload), remember(payload)]);
                      return integrationReply('handover', answer);
                  },
                  tractMessage: async ({ payload, eventId }) => ({
                      status: 200,
                      body: { status: await handover.onTractMessage(payload, eventId) }
                  }),
                  tractEvent: async ({ payload, eventId }) => ({
                      status: 200,
                      body: { status: await handover.onTractEvent(payload, eventId) }
                  })
              })
    };

    const app = createApp({
        webhookSecret: config.haptik.webhookSecret,
        hookToken: config.haptik.hookToken,
        adminToken: config.adminToken,
        logger,
        metrics,
        haptik: handlers,
        files:
            fileLinks === undefined || chatFiles === undefined
                ? undefined
                : { links: fileLinks, logger, source: chatFiles },
        readiness: [
            { name: 'database', check: async () => void (await db.query('SELECT 1')) },
            // Judged by the last real call; polls never turn into token requests (salesforce-readiness.ts).
            { name: 'salesforce', check: salesforceReadiness(salesforce, { clock }) }
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
    retention?.start();
    if (chat !== undefined && handover !== undefined && streams !== undefined) {
        chat.onEvent((envelope) => handover.onChatEvent(envelope));
        // Takes the open chats nobody reads (after a restart: all of them) and keeps a heartbeat.
        await streams.start({ resume: (id) => handover.resumeStream(id), detach: (id) => chat.detach(id) });
    }
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
                retention?.stop();
                await chat?.close();
                await outbox.stop();
                await fileFetcher.close();
                // Nothing here reads a stream or opens a chat any more: hand the chats to the other instances
                // now rather than when the heartbeat runs out.
                await streams?.stop();
                await userNames.flush();
                await db.close();
                logger.info('bridge stopped');
            })();
            return stopping;
        }
    };
}
