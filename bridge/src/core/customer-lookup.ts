import { ownValue } from './records';
import { nationalDigits, phonesMatch } from './phone';
import type { PhoneRules } from './phone';

/**
 * Rules of the CRM lookup: which identifier of the Haptik user is searched how, which record wins, and
 * what the bot gets back. Pure: the search itself is behind the CrmDirectory port.
 */
export type CrmObject = 'Contact' | 'PersonAccount' | 'Lead';
export type MatchKind = 'email' | 'phone' | 'externalId';

export interface IdentifierRule {
    /** user.auth_id, user_details.<key>, conversation_details.<key> or entities.<name> */
    from: string;
    match: MatchKind | 'auto';
    /** For externalId: the field compared on each object. */
    fields?: Partial<Record<CrmObject, string>>;
}

export interface LookupRules {
    objects: CrmObject[];
    personAccounts: 'auto' | 'on' | 'off';
    identifiers: IdentifierRule[];
    phone: PhoneRules;
    /** Extra user_details keys and the field that fills each, per object. */
    extraFields: Record<string, Partial<Record<CrmObject, string>>>;
    greeting?: string;
    cacheTtlMs: number;
    timeoutMs: number;
}

export interface Identifier {
    kind: MatchKind;
    /** As given by the user, for the final comparison. */
    value: string;
    /** What the directory searches for: lower-cased email, national phone digits, or the external id. */
    searchTerm: string;
    fields?: Partial<Record<CrmObject, string>>;
}

export interface CrmRecord {
    object: CrmObject;
    /** The API object the record lives in (Account for a person account). */
    sobject: 'Contact' | 'Account' | 'Lead';
    id: string;
    firstName: string | null;
    name: string | null;
    email: string | null;
    phones: string[];
    accountName: string | null;
    lastModified: string;
    extra: Record<string, unknown>;
}

/** The port: finds candidate records; the rules below decide which ones really match. */
export interface CrmDirectory {
    find(identifier: Identifier, objects: CrmObject[], extraFields: LookupRules['extraFields']): Promise<CrmRecord[]>;
}

/** The part of Haptik's integration request the lookup reads. */
export interface LookupRequest {
    user?: {
        auth_id?: string | null | undefined;
        user_name?: string | undefined;
        user_id?: string | number | undefined;
    };
    user_details?: Record<string, unknown> | undefined;
    conversation_details?: Record<string, unknown> | undefined;
    entities?: Record<string, Array<{ entity_value?: unknown; original_text?: unknown }>> | undefined;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function valueAt(request: LookupRequest, from: string): string | undefined {
    const [section, key = ''] = from.split(/\.(.*)/s);
    let value: unknown;
    if (section === 'user') value = ownValue(request.user as Record<string, unknown> | undefined, key);
    else if (section === 'user_details') value = ownValue(request.user_details, key);
    else if (section === 'conversation_details') value = ownValue(request.conversation_details, key);
    else if (section === 'entities') {
        const first = ownValue(request.entities, key)?.[0];
        value = first?.entity_value ?? first?.original_text;
        if (value !== null && typeof value === 'object') value = Object.values(value as Record<string, unknown>)[0];
    }
    if (typeof value === 'number') return String(value);
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function identify(value: string, rule: IdentifierRule, phone: PhoneRules): Identifier | undefined {
    const withFields = rule.fields ? { fields: rule.fields } : {};
    const asEmail = (): Identifier | undefined =>
        EMAIL.test(value) ? { kind: 'email', value, searchTerm: value.toLowerCase() } : undefined;
    const asPhone = (): Identifier | undefined => {
        const digits = nationalDigits(value, phone);
        return digits === undefined ? undefined : { kind: 'phone', value, searchTerm: digits };
    };
    const asExternalId = (): Identifier | undefined =>
        rule.fields && Object.keys(rule.fields).length > 0
            ? { kind: 'externalId', value, searchTerm: value, ...withFields }
            : undefined;
    switch (rule.match) {
        case 'email':
            return asEmail();
        case 'phone':
            return asPhone();
        case 'externalId':
            return asExternalId();
        case 'auto':
            return asEmail() ?? asPhone() ?? asExternalId();
    }
}

/** The first identifier of the rules that the request carries in a usable shape. */
export function identifierFrom(request: LookupRequest, rules: LookupRules): Identifier | undefined {
    for (const rule of rules.identifiers) {
        const value = valueAt(request, rule.from);
        if (value === undefined) continue;
        const identifier = identify(value, rule, rules.phone);
        if (identifier) return identifier;
    }
    return undefined;
}

/** Keeps the records that really match: the directory's search may be wider (SOSL, case, formatting). */
export function confirmMatches(identifier: Identifier, records: CrmRecord[], rules: LookupRules): CrmRecord[] {
    switch (identifier.kind) {
        case 'email':
            return records.filter((r) => r.email !== null && r.email.toLowerCase() === identifier.searchTerm);
        case 'phone':
            return records.filter((r) => r.phones.some((p) => phonesMatch(p, identifier.value, rules.phone)));
        case 'externalId':
            return records;
    }
}

/**
 * Several records match: the most recently modified one wins (it is the one a person last worked on);
 * ties go to the object order of the rules, then to the id, so the answer is stable.
 */
export function chooseRecord(records: CrmRecord[], rules: LookupRules): CrmRecord | undefined {
    const rank = (r: CrmRecord): number => rules.objects.indexOf(r.object);
    return [...records].sort(
        (a, b) => b.lastModified.localeCompare(a.lastModified) || rank(a) - rank(b) || a.id.localeCompare(b.id)
    )[0];
}

export interface IntegrationAnswer {
    status: boolean;
    response: string[];
    conversation_details: Record<string, unknown>;
    user_details: Record<string, unknown>;
}

export type LookupOutcome =
    | { kind: 'found'; record: CrmRecord; matches: number }
    | { kind: 'not_found'; reason: 'no_identifier' | 'no_match' }
    | { kind: 'failed'; errorCode: string };

/** Fills "{first_name}"-style placeholders from user_details; unknown ones become empty. */
export function renderTemplate(template: string, values: Record<string, unknown>): string {
    return template.replace(/\{(\w+)\}/g, (_, key: string) => {
        const value = values[key];
        return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
    });
}

/** Haptik's integration response for a lookup outcome; `greeting` is HSL text built by the caller's helper. */
export function lookupAnswer(
    outcome: LookupOutcome,
    rules: LookupRules,
    toHsl: (text: string) => string
): IntegrationAnswer {
    if (outcome.kind === 'failed') {
        return {
            status: false,
            response: [],
            conversation_details: {},
            user_details: { crm_found: false, crm_error: outcome.errorCode }
        };
    }
    if (outcome.kind === 'not_found') {
        return { status: true, response: [], conversation_details: {}, user_details: { crm_found: false } };
    }
    const r = outcome.record;
    const details: Record<string, unknown> = {
        crm_found: true,
        crm_object: r.sobject,
        crm_id: r.id,
        crm_match_count: outcome.matches,
        first_name: r.firstName ?? '',
        name: r.name ?? '',
        email: r.email ?? '',
        phone: r.phones[0] ?? '',
        account_name: r.accountName ?? ''
    };
    for (const key of Object.keys(rules.extraFields)) details[key] = r.extra[key] ?? '';
    const response = rules.greeting ? [toHsl(renderTemplate(rules.greeting, details))] : [];
    return { status: true, response, conversation_details: {}, user_details: details };
}
