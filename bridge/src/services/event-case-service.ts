import { buildEventCase } from '../core/case-templates';
import type { CaseSettings, CaseRequest, CrmLink } from '../core/case-templates';
import type { IntegrationAnswer, LookupRequest } from '../core/customer-lookup';
import { asBridgeError, BridgeError } from '../core/errors';
import { ownValue } from '../core/records';
import type { Redactor } from '../core/redaction';
import { fillPlaceholders } from '../core/text';
import type { UserMessages } from '../config/mapping-file';
import type { HaptikIntegrationRequest } from '../haptik/payloads';
import type { Logger } from '../observability/logger';
import type { SalesforceClient } from '../salesforce/salesforce-client';
import type { Db } from '../store/db';
import { awaitJob } from '../store/outbox';
import { enqueueOutbound } from './outbound-jobs';
import type { CustomerLookupService } from './customer-lookup-service';

/**
 * Cases from bot events (`POST /haptik/integrations/case/{template}`): the intent is made durable first
 * (a `salesforce.upsert` job on `Haptik_Event_Key__c`), then the bot's call waits a bounded time for the
 * outbox to run it. Haptik's retries and replays carry the same key, so they find the same job and
 * answer with the same Case; a Salesforce outage answers "pending" while the job keeps retrying.
 */
export interface EventCaseService {
    createCase(templateName: string, request: HaptikIntegrationRequest): Promise<IntegrationAnswer>;
}

export interface EventCaseServiceDeps {
    db: Db;
    /** Wakes the outbox worker once the job is committed. */
    outbox: { notify(): void };
    salesforce: Pick<SalesforceClient, 'retrieve'>;
    customerLookup: CustomerLookupService;
    settings: CaseSettings;
    messages: UserMessages;
    businessId: string;
    redact: Redactor;
    logger: Logger;
    toHsl: (text: string) => string;
}

interface UpsertResult {
    id: string;
    created?: boolean;
}

function upsertResultOf(value: unknown): UpsertResult | undefined {
    if (typeof value !== 'object' || value === null) return undefined;
    const id = (value as { id?: unknown }).id;
    return typeof id === 'string' && id !== ''
        ? { id, created: (value as { created?: unknown }).created === true }
        : undefined;
}

function caseRequestOf(request: HaptikIntegrationRequest): CaseRequest {
    return {
        node: request.node,
        user: request.user,
        conversation_no: request.conversation_no,
        conversation_details: request.conversation_details,
        user_details: request.user_details,
        entities: request.entities
    };
}

function lookupRequestOf(request: HaptikIntegrationRequest): LookupRequest {
    return {
        user: {
            auth_id: request.user.auth_id ?? undefined,
            user_name: request.user.user_name ?? undefined,
            user_id: request.user.user_id
        },
        user_details: request.user_details,
        conversation_details: request.conversation_details,
        entities: request.entities
    };
}

/** `work`'s value if it settles within `ms` (its failure rethrown), else undefined; a late failure is dropped. */
async function withinDeadline<T>(work: Promise<T>, ms: number): Promise<{ value: T } | undefined> {
    const settled = work.then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error })
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), Math.max(0, ms));
    });
    try {
        const outcome = await Promise.race([settled, late]);
        if (outcome === undefined) return undefined;
        if (!outcome.ok) throw outcome.error;
        return { value: outcome.value };
    } finally {
        clearTimeout(timer);
    }
}

export function createEventCaseService(deps: EventCaseServiceDeps): EventCaseService {
    const logger = deps.logger.child({ component: 'event-case' });

    /** The CRM record the lookup finds links the Case; a Lead or a failed lookup links nothing. */
    async function crmLink(request: HaptikIntegrationRequest): Promise<CrmLink> {
        try {
            const answer = await deps.customerLookup.lookup(lookupRequestOf(request));
            const details = answer.user_details;
            if (details['crm_found'] !== true || typeof details['crm_id'] !== 'string') return {};
            if (details['crm_object'] === 'Contact') return { contactId: details['crm_id'] };
            if (details['crm_object'] === 'Account') return { accountId: details['crm_id'] };
            return {};
        } catch (error) {
            // The lookup service answers failures itself; anything thrown still must not stop the Case.
            logger.warn(
                { code: asBridgeError(error, 'bridge_crm_lookup_failed').code },
                'CRM lookup for a Case failed'
            );
            return {};
        }
    }

    function answer(status: boolean, text: string, details: Record<string, unknown>): IntegrationAnswer {
        return { status, response: [deps.toHsl(text)], conversation_details: {}, user_details: details };
    }

    return {
        async createCase(templateName, request) {
            const template = ownValue(deps.settings.templates, templateName);
            if (template === undefined) {
                throw new BridgeError(
                    'bridge_case_template_not_found',
                    `There is no case template "${templateName}": use lead, enquiry, service_request or one from the mapping file`,
                    { details: { template: templateName } }
                );
            }
            // One deadline for the whole call (Haptik waits 30 s): the lookup may use half of it, the write is
            // made durable whatever, then the wait and the number read get what is left. Past it: "pending".
            const deadline = performance.now() + deps.settings.requestDeadlineMs;
            const left = (): number => Math.max(0, deadline - performance.now());
            const linked = await withinDeadline(crmLink(request), left() / 2);
            if (linked === undefined) logger.warn({ template: templateName }, 'CRM lookup for a Case ran out of time');
            const crm = linked?.value ?? {};
            const built = buildEventCase(templateName, template, caseRequestOf(request), {
                businessId: deps.businessId,
                crm,
                redact: deps.redact
            });
            const job = await deps.db.transaction((tx) =>
                enqueueOutbound(tx, 'salesforce.upsert', {
                    orderingKey: `case:${built.eventKey}`,
                    idempotencyKey: `case-event:${built.eventKey}`,
                    payload: {
                        type: 'Case',
                        externalIdField: 'Haptik_Event_Key__c',
                        externalId: built.eventKey,
                        fields: built.fields,
                        ...(template.assignmentRules === true ? { assignmentRules: true } : {})
                    }
                })
            );
            deps.outbox.notify();
            const outcome = await awaitJob(deps.db, job.id, {
                timeoutMs: Math.min(deps.settings.awaitTimeoutMs, left())
            });
            const log = { jobId: job.id, template: templateName, replay: job.duplicate, state: outcome.state };

            if (outcome.state === 'dead') {
                logger.warn({ ...log, errorCode: outcome.lastErrorCode }, 'Case from a bot event was rejected');
                return {
                    status: false,
                    response: [deps.toHsl(deps.messages.caseFailed)],
                    conversation_details: {},
                    user_details: { case_error: outcome.lastErrorCode ?? 'bridge_case_failed' }
                };
            }
            const result = outcome.state === 'done' ? upsertResultOf(outcome.result) : undefined;
            if (result === undefined) {
                logger.info(log, 'Case from a bot event is queued; answering pending');
                return answer(true, deps.messages.casePending, { case_pending: true });
            }
            let caseNumber: string | undefined;
            try {
                const read = await withinDeadline(
                    deps.salesforce.retrieve<{ CaseNumber?: unknown }>('Case', result.id, ['CaseNumber']),
                    left()
                );
                if (read === undefined) logger.info(log, 'Case number not read before the deadline; answering pending');
                caseNumber = typeof read?.value?.CaseNumber === 'string' ? read.value.CaseNumber : undefined;
            } catch (error) {
                logger.warn(
                    { ...log, code: asBridgeError(error, 'bridge_salesforce_api_error').code },
                    'Case exists but its number could not be read'
                );
            }
            if (caseNumber === undefined) {
                return answer(true, deps.messages.casePending, { case_pending: true, case_id: result.id });
            }
            logger.info({ ...log, created: result.created }, 'Case from a bot event is logged');
            return answer(true, fillPlaceholders(deps.messages.caseCreated, { case_number: caseNumber }), {
                case_number: caseNumber,
                case_id: result.id
            });
        }
    };
}
