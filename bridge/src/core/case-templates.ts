import { createHash } from 'node:crypto';
import { ownValue } from './records';
import { cutText } from './text';

/**
 * Case templates: how a bot event (a lead, an enquiry, a service request) becomes the fields of a
 * Salesforce Case. Pure: the request comes in, a field map and the idempotency key go out.
 *
 * Placeholders in templates: `{entities.order_id}`, `{user_details.email}`, `{conversation_details.x}`,
 * `{user.full_name}`, `{conversation_no}`, `{node}`, `{template}`, `{channel}`; alternatives with `|`
 * (`{user_details.name|user.full_name}` takes the first non-empty one); `{entities}` and `{user_details}`
 * alone list every entity / detail as `name: value` lines. Unknown placeholders become empty.
 */
export type HaptikChannel = 'Web' | 'Android' | 'iOS' | 'WhatsApp' | 'Facebook' | 'Other';

export interface CaseTemplate {
    subject: string;
    description: string;
    origin: string;
    type?: string;
    reason?: string;
    priority?: string;
    status?: string;
    recordTypeId?: string;
    /** A queue (or user) id: the Case's owner. */
    ownerId?: string;
    /**
     * Run the org's active Case assignment rules when this template's Case is created (Sforce-Auto-Assign: TRUE).
     * Off by default: the bridge's own later writes (transcript, handover) never run them.
     */
    assignmentRules?: boolean;
    suppliedName?: string;
    suppliedEmail?: string;
    suppliedPhone?: string;
    suppliedCompany?: string;
    /** Custom fields: API name → template. */
    fields: Record<string, string>;
    /** Lengths of custom text fields, so long values are cut rather than rejected. */
    fieldLengths: Record<string, number>;
}

export interface CaseSettings {
    templates: Record<string, CaseTemplate>;
    /** How long the bot's call waits for the Case to exist before answering "pending". */
    awaitTimeoutMs: number;
    /** The whole call's deadline (CRM lookup, durable write, wait, Case number); "pending" when it passes. */
    requestDeadlineMs: number;
}

/** The part of Haptik's integration request (haptik.md §A5) the templates read. */
export interface CaseRequest {
    node?: unknown;
    user: {
        user_id: string;
        user_name?: string | null | undefined;
        full_name?: string | null | undefined;
        device_platform?: number | string | null | undefined;
        auth_id?: string | null | undefined;
        language_code?: string | null | undefined;
    };
    conversation_no?: string | null | undefined;
    conversation_details: Record<string, unknown>;
    user_details: Record<string, unknown>;
    entities: Record<string, ReadonlyArray<{ entity_value?: unknown; original_text?: unknown }>>;
}

/** Salesforce lengths of the standard and contract Case text fields (field reference; contract §4). */
export const CASE_FIELD_LENGTHS: Readonly<Record<string, number>> = {
    Subject: 255,
    Description: 32_000,
    SuppliedName: 80,
    SuppliedEmail: 80,
    SuppliedPhone: 40,
    SuppliedCompany: 80,
    Haptik_Conversation_Key__c: 255,
    Haptik_Event_Key__c: 255,
    Haptik_User_Id__c: 255,
    Haptik_Bot_Context__c: 131_072,
    Haptik_Transcript__c: 131_072
};

/** Fields a template may not map: the bridge owns them (idempotency and conversation keys). */
export const RESERVED_CASE_FIELDS: readonly string[] = [
    'Id',
    'Haptik_Event_Key__c',
    'Haptik_Conversation_Key__c',
    'Haptik_Transcript__c',
    'Haptik_Bot_Context__c'
];

/**
 * Case Origin of the bridge's Cases unless the mapping file says otherwise: a value of the standard Case Origin
 * picklist (Phone, Email, Web), so it exists in every org. A value of your own, such as Chatbot, must first be
 * added to the picklist (admin guide).
 */
export const DEFAULT_CASE_ORIGIN = 'Web';

const SUPPLIED = {
    suppliedName: '{user_details.name|user_details.full_name|entities.name|user.full_name}',
    suppliedEmail: '{user_details.email|entities.email}',
    suppliedPhone: '{user_details.phone|user_details.mobile_no|entities.phone_number|entities.phone}'
};

const DESCRIPTION_FOOTER = '\n\nDetails from the chat:\n{entities}\n{user_details}';

/** Used for a template the mapping file adds without giving every setting. */
export const BASE_CASE_TEMPLATE: CaseTemplate = {
    subject: 'Request from {user_details.name|user.full_name|user.user_name} via chat',
    description:
        'Logged by the chatbot ({template}) on {channel}, conversation {conversation_no}.' + DESCRIPTION_FOOTER,
    origin: DEFAULT_CASE_ORIGIN,
    ...SUPPLIED,
    fields: {},
    fieldLengths: {}
};

/**
 * The built-in templates write only picklist values every org has: Origin Web and Priority Medium / Low (standard
 * values). Case Type values differ from org to org, so no template sets one unless the mapping file does.
 */
export const DEFAULT_CASE_TEMPLATES: Readonly<Record<string, CaseTemplate>> = {
    lead: {
        ...BASE_CASE_TEMPLATE,
        subject: 'New lead: {user_details.name|user.full_name|user.user_name}',
        description: 'A prospective customer left their details with the chatbot on {channel}.' + DESCRIPTION_FOOTER,
        priority: 'Medium'
    },
    enquiry: {
        ...BASE_CASE_TEMPLATE,
        subject: 'Enquiry: {entities.topic|entities.product|user_details.topic|user.full_name}',
        description:
            'An enquiry the chatbot could not answer on {channel}.\n\n{entities.question|user_details.question}' +
            DESCRIPTION_FOOTER,
        priority: 'Low'
    },
    service_request: {
        ...BASE_CASE_TEMPLATE,
        subject: 'Service request: {entities.issue|entities.order_id|user_details.issue|user.full_name}',
        description: 'A service request logged by the chatbot on {channel}.' + DESCRIPTION_FOOTER,
        priority: 'Medium'
    }
};

/**
 * The user's channel for `Haptik_Channel__c`, from Haptik's device_platform codes (haptik.md §A3, §A5:
 * 2 Android, 3 Facebook, 5 Web SDK, 6 iOS, 14 WhatsApp; 4/15 Jio, 13 Bot API and unknown codes are Other)
 * or a platform name.
 */
export function channelOf(devicePlatform: unknown): HaptikChannel {
    const code = typeof devicePlatform === 'number' ? devicePlatform : Number(devicePlatform);
    if (Number.isInteger(code)) {
        switch (code) {
            case 2:
                return 'Android';
            case 3:
                return 'Facebook';
            case 5:
                return 'Web';
            case 6:
                return 'iOS';
            case 14:
                return 'WhatsApp';
            default:
                return 'Other';
        }
    }
    if (typeof devicePlatform !== 'string') return 'Other';
    const name = devicePlatform.toLowerCase().replace(/[^a-z]/g, '');
    if (name.includes('whatsapp')) return 'WhatsApp';
    if (name.includes('android')) return 'Android';
    if (name === 'ios' || name.includes('iphone')) return 'iOS';
    if (name.includes('facebook') || name.includes('messenger')) return 'Facebook';
    if (name.includes('web')) return 'Web';
    return 'Other';
}

/**
 * The idempotency key of a Case from a bot event (`Haptik_Event_Key__c`), so a retried or replayed call
 * upserts the same Case:
 * - `<business_id>:<user_id>:<conversation_no>:<node>` (the template name stands in for a missing node);
 * - with an explicit `conversation_details.case_key`: `<business_id>:<user_id>:%key:<case_key>`, scoped to
 *   the user so two users sending the same key never share a Case (and its number);
 * - a key longer than the field (255) becomes `<business_id>:%sha256:<hex of the whole key>`.
 * In each part `%` and `:` are written `%25` and `%3A`, so parts cannot run into each other; `%key` and
 * `%sha256` cannot come out of a part. Keys of numeric ids and plain node names are as they always were.
 */
export function eventCaseKey(request: CaseRequest, businessId: string, templateName: string): string {
    const explicit = scalarText(ownValue(request.conversation_details, 'case_key'));
    const user = keyPart(request.user.user_id);
    const key =
        explicit !== undefined
            ? `${businessId}:${user}:%key:${keyPart(explicit)}`
            : `${businessId}:${user}:${keyPart(request.conversation_no ?? '-')}:${keyPart(scalarText(request.node) ?? templateName)}`;
    if (key.length <= EVENT_KEY_LENGTH) return key;
    return `${businessId}:%sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

const EVENT_KEY_LENGTH = 255;

function keyPart(value: string): string {
    return value.replace(/%/g, '%25').replace(/:/g, '%3A');
}

function scalarText(value: unknown): string | undefined {
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** Text of one value as a person reads it: entity objects show their first value, lists are joined. */
function readable(value: unknown): string | undefined {
    if (value === null || value === undefined) return undefined;
    if (typeof value === 'string') return value.trim() === '' ? undefined : value.trim();
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (Array.isArray(value)) {
        const parts = value.map(readable).filter((part): part is string => part !== undefined);
        return parts.length === 0 ? undefined : parts.join(', ');
    }
    if (typeof value === 'object') {
        const first = Object.values(value as Record<string, unknown>)[0];
        return readable(first);
    }
    return undefined;
}

function entityValue(request: CaseRequest, name: string): string | undefined {
    const values = ownValue(request.entities, name) ?? [];
    const parts = values
        .map((v) => readable(v.entity_value) ?? readable(v.original_text))
        .filter((part): part is string => part !== undefined);
    return parts.length === 0 ? undefined : parts.join(', ');
}

function listLines(entries: Array<[string, string | undefined]>): string {
    return entries
        .filter((entry): entry is [string, string] => entry[1] !== undefined)
        .map(([name, value]) => `${name}: ${value}`)
        .join('\n');
}

export interface TemplateContext {
    template: string;
    channel: HaptikChannel;
    /** Extra top-level placeholders, e.g. case_number. */
    extra?: Record<string, string>;
}

function resolve(path: string, request: CaseRequest, context: TemplateContext): string | undefined {
    const dot = path.indexOf('.');
    const root = dot < 0 ? path : path.slice(0, dot);
    const key = dot < 0 ? '' : path.slice(dot + 1);
    switch (root) {
        case 'entities':
            return key === ''
                ? listLines(Object.keys(request.entities).map((name) => [name, entityValue(request, name)])) ||
                      undefined
                : entityValue(request, key);
        case 'user_details':
        case 'conversation_details': {
            const details = request[root];
            return key === ''
                ? listLines(Object.entries(details).map(([name, value]) => [name, readable(value)])) || undefined
                : readable(ownValue(details, key));
        }
        case 'user':
            return readable(ownValue(request.user as Record<string, unknown>, key));
        case 'conversation_no':
            return readable(request.conversation_no);
        case 'node':
            return readable(request.node);
        case 'template':
            return context.template;
        case 'channel':
            return context.channel;
        default:
            return ownValue(context.extra, path);
    }
}

/** Fills a template's placeholders from the request (see the module comment for the syntax). */
export function renderCaseText(template: string, request: CaseRequest, context: TemplateContext): string {
    const rendered = template.replace(/\{([\w.|]+)\}/g, (_, alternatives: string) => {
        for (const path of alternatives.split('|')) {
            const value = resolve(path.trim(), request, context);
            if (value !== undefined && value !== '') return value;
        }
        return '';
    });
    // Empty placeholders leave blank runs behind; keep at most one empty line and no trailing spaces.
    return rendered
        .replace(/[ \t]+$/gm, '')
        .replace(/\n{3,}/g, '\n\n')
        .trim();
}

/** Cuts text to `max` characters, never splitting a surrogate pair; an ellipsis marks the cut. */
export function truncateText(value: string, max: number): string {
    if (value.length <= max) return value;
    if (max <= 1) return cutText(value, max);
    return `${cutText(value, max - 1)}…`;
}

/** Every string field cut to its Salesforce length (rather than a STRING_TOO_LONG rejection). */
export function truncateCaseFields(
    fields: Record<string, unknown>,
    lengths: Readonly<Record<string, number>> = CASE_FIELD_LENGTHS
): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(fields)) {
        const max = lengths[name];
        out[name] = typeof value === 'string' && max !== undefined ? truncateText(value, max) : value;
    }
    return out;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface CrmLink {
    contactId?: string | undefined;
    accountId?: string | undefined;
}

export interface EventCase {
    /** `Haptik_Event_Key__c`: the upsert's external id. */
    eventKey: string;
    /** The Case's fields (the external id field is not among them: it goes in the upsert URL). */
    fields: Record<string, unknown>;
}

/**
 * The Case for a bot event. `redact` is applied to the free-text fields (Subject, Description, custom
 * fields); Supplied* values are contact data the Case exists to carry. An invalid SuppliedEmail is left
 * out rather than rejected by Salesforce.
 */
export function buildEventCase(
    templateName: string,
    template: CaseTemplate,
    request: CaseRequest,
    options: { businessId: string; crm?: CrmLink; redact?: (text: string) => string }
): EventCase {
    const channel = channelOf(request.user.device_platform);
    const context: TemplateContext = { template: templateName, channel };
    const render = (text: string | undefined): string | undefined => {
        if (text === undefined) return undefined;
        const value = renderCaseText(text, request, context);
        return value === '' ? undefined : value;
    };
    const redact = options.redact ?? ((text: string): string => text);
    const fields: Record<string, unknown> = {};
    const set = (name: string, value: string | undefined): void => {
        if (value !== undefined && value !== '') fields[name] = value;
    };

    set('Subject', mapText(render(template.subject), redact));
    set('Description', mapText(render(template.description), redact));
    set('Origin', template.origin);
    set('Type', template.type);
    set('Reason', template.reason);
    set('Priority', template.priority);
    set('Status', template.status);
    set('RecordTypeId', template.recordTypeId);
    set('OwnerId', template.ownerId);
    set('SuppliedName', render(template.suppliedName));
    const email = render(template.suppliedEmail);
    set('SuppliedEmail', email !== undefined && EMAIL.test(email) && email.length <= 80 ? email : undefined);
    set('SuppliedPhone', render(template.suppliedPhone));
    set('SuppliedCompany', render(template.suppliedCompany));
    for (const [name, fieldTemplate] of Object.entries(template.fields)) {
        if (RESERVED_CASE_FIELDS.includes(name)) continue;
        set(name, mapText(render(fieldTemplate), redact));
    }
    set('ContactId', options.crm?.contactId);
    set('AccountId', options.crm?.accountId);
    set('Haptik_User_Id__c', request.user.user_id);
    set('Haptik_Channel__c', channel);

    return {
        eventKey: eventCaseKey(request, options.businessId, templateName),
        fields: truncateCaseFields(fields, { ...CASE_FIELD_LENGTHS, ...template.fieldLengths })
    };
}

function mapText(value: string | undefined, redact: (text: string) => string): string | undefined {
    return value === undefined ? undefined : redact(value);
}
