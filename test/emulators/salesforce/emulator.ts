/**
 * An in-process Salesforce emulator on loopback: OAuth token endpoint, the REST resources the bridge
 * uses (sObject CRUD, external-id upsert, SOQL with paging, sObject Collections, limits), Salesforce's
 * error arrays and Sforce-Limit-Info, plus fault injection. Tests drive it through the returned object;
 * other processes through JSON routes under /__emulator/.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { serveOnLoopback } from '../loopback-server';
import { issueToken } from './oauth';
import type { OAuthSettings } from './oauth';
import { runSoql, SoqlError } from './soql-engine';
import type { SfRecord, SoqlContext } from './soql-engine';
import { runSosl, SoslError } from './sosl-engine';
import { blobInsertFields, isMultipart, parseMultipart } from './multipart';
import type { MultipartBody } from './multipart';
import { AccessPolicy } from './access';
import type { IntegrationUserAccess } from './access';
import {
    DEFAULT_EXTERNAL_ID_FIELDS,
    DEFAULT_REQUIRED_FIELDS,
    FIELD_LENGTHS,
    KEY_PREFIXES,
    OBJECT_FIELDS,
    PERSON_ACCOUNT_FIELDS,
    SYSTEM_FIELD_NAMES,
    fieldTypeOf,
    isReadOnly,
    makeId,
    sfDateTime,
    toId18
} from './schema';

export type { SfRecord } from './soql-engine';

export interface SalesforceEmulatorOptions {
    port?: number;
    clientId?: string;
    clientSecret?: string;
    username?: string;
    /** SPKI PEM public key the JWT bearer assertions must be signed for (the Connected App certificate). */
    jwtPublicKey?: string;
    orgId?: string;
    /**
     * OAuth scopes the External Client App grants, space-separated (default `api`); BYOC's Interaction Service
     * API wants `interaction_api` among them.
     */
    tokenScope?: string;
    /** Daily API request limit reported in Sforce-Limit-Info; reaching it answers REQUEST_LIMIT_EXCEEDED. */
    apiLimit?: number;
    /** Default SOQL batch size (Salesforce: 2000); Sforce-Query-Options: batchSize=N overrides it per query. */
    queryBatchSize?: number;
    /** More fields per object (custom fields); an object not known yet becomes known. */
    extraFields?: Record<string, string[]>;
    /** External-id fields per object; default Case.Haptik_Conversation_Key__c and Case.Haptik_Event_Key__c. */
    externalIdFields?: Record<string, string[]>;
    /**
     * Replaces the built-in SOSL engine (sosl-engine.ts) for `GET …/search?q=`. Returns the REST body
     * (`{searchRecords: [...]}`); throw a SoqlError-like `{errorCode, message}` to answer 400.
     */
    searchHandler?: (sosl: string, emulator: SalesforceEmulator) => unknown;
    /**
     * Person Accounts enabled (default false). On: Account has IsPersonAccount, FirstName, LastName, PersonEmail,
     * PersonMobilePhone, PersonContactId…, an Account stored with a LastName is a person account with a person
     * Contact (IsPersonAccount = true) kept in step with it. Off: those fields are INVALID_FIELD, as in Salesforce.
     */
    personAccounts?: boolean;
    /**
     * Who the API user is: its object permissions, field-level security, groups and the org's Case sharing
     * (access.ts; `shippedIntegrationUser()` reads them from the package). Unset: an administrator who may do
     * everything. Set: a field without FLS answers INVALID_FIELD on read and INVALID_FIELD_FOR_INSERT_UPDATE on
     * write, an object without access INVALID_TYPE in queries and NOT_FOUND on its resources, a Case the user
     * cannot see is not there (its unique key then answers DUPLICATE_VALUE to an upsert).
     */
    integrationUser?: IntegrationUserAccess;
    /** An active Case assignment rule: Cases written through the API go to this owner (a queue 00G…) unless `Sforce-Auto-Assign: FALSE`. */
    caseAssignmentRule?: CaseAssignmentRule | null;
    /** Picklists whose values the org restricts (Setup: "Restrict picklist to the values defined in the value set"). */
    restrictedPicklists?: Record<string, Record<string, string[]>>;
}

export interface CaseAssignmentRule {
    /** Owner the rule gives the Case to (a queue id, 00G…, or a user id). */
    ownerId: string;
    /** Only Cases whose fields hold these values (every Case when omitted). */
    match?: Record<string, unknown>;
}

/** One injected failure for the next REST call (with `onPath`: the next one whose path contains it). */
export type InjectedFailure = FailureKind & { onPath?: string };

type FailureKind =
    | { status: 500 | 503; errorCode?: string; message?: string }
    /** Drops the TCP connection without an answer (the client sees ECONNRESET / socket hang up). */
    | { resetConnection: true }
    /** Answers normally, but only after this delay (for client timeouts). */
    | { delayMs: number }
    /**
     * Does the work, sends the status line and headers, then stalls: no byte of the body for this long (then
     * the connection is dropped), as a proxy or an overloaded server can. Omit the time to stall until close.
     */
    | { stallAfterHeaders: true; stallMs?: number }
    /** Does the work (a record is saved), then a gateway in front answers this status with an HTML page. */
    | { gatewayErrorAfterWork: 502 | 504 };

export interface ValidationFailure {
    errorCode: string;
    message: string;
    fields: string[];
    /** How many writes fail; unlimited when omitted. */
    times?: number;
    /** Only writes whose fields hold all these values fail (a validation rule hitting some records). */
    match?: Record<string, unknown>;
}

export interface ApiError {
    message: string;
    errorCode: string;
    fields?: string[];
}

export interface RequestLogEntry {
    method: string;
    path: string;
    kind: string;
    status: number;
    /** Salesforce's errorCode of an error answer (MALFORMED_QUERY, INVALID_FIELD, …). */
    errorCode?: string;
    /** The request's Sforce-Auto-Assign header, when it had one. */
    autoAssign?: string;
}

export interface ApiCallCounters {
    total: number;
    byKind: Record<string, number>;
}

export interface SalesforceEmulator {
    readonly url: string;
    close(): Promise<void>;
    /** Stored records of one object (live copies are not exposed). */
    records(type: string): SfRecord[];
    /** Seeds a record directly (no validation, no API usage); returns it with its Id. */
    insert(type: string, fields: SfRecord): SfRecord;
    /** Changes a stored record as Salesforce itself would (a status moving on); no validation, no API usage. */
    update(type: string, id: string, fields: SfRecord): SfRecord;
    /** Every token issued so far becomes invalid (401 INVALID_SESSION_ID). */
    expireTokens(): void;
    /** The scopes of a valid access token the token endpoint issued; undefined for an unknown or expired one. */
    accessTokenScopes(token: string): string[] | undefined;
    /** The consumer secret the token endpoint accepts from now on (as when an admin rotates it). */
    setClientSecret(secret: string): void;
    failNext(count: number, failure: InjectedFailure): void;
    limitExceeded(on: boolean): void;
    requireFields(type: string, fields: string[]): void;
    /** Makes writes to `type` fail with this error; `null` clears it. */
    failValidation(type: string, failure: ValidationFailure | null): void;
    declareExternalId(type: string, field: string): void;
    /**
     * The field is gone, as when the package is not installed or the integration user may not read it:
     * describe omits it, queries and writes naming it fail with INVALID_FIELD.
     */
    removeField(type: string, field: string): void;
    /** The integration user may read but not edit the field (field-level security): describe says so, writes fail. */
    setFieldReadOnly(type: string, field: string, readOnly?: boolean): void;
    /** Changes who the API user is (see the option); `undefined` makes it an administrator. */
    setIntegrationUser(access: IntegrationUserAccess | undefined): void;
    /** Activates a Case assignment rule, or deactivates it with `null`. */
    setCaseAssignmentRule(rule: CaseAssignmentRule | null): void;
    /** Restricts a picklist to these values, or lifts the restriction with `null`. */
    restrictPicklist(type: string, field: string, values: string[] | null): void;
    /** The id of the API user (owner of what it creates). */
    readonly userId: string;
    /** Which object permissions and field-level security the API user's calls relied on since it was set. */
    accessUsed(): {
        objects: Record<string, { read: boolean; create: boolean; edit: boolean }>;
        fields: Record<string, { read: boolean; edit: boolean }>;
    };
    /** Clears fault injection and counters (records stay). */
    reset(): void;
    readonly apiCalls: ApiCallCounters;
    readonly tokensIssued: number;
    readonly apiUsage: { used: number; limit: number };
    readonly requests: readonly RequestLogEntry[];
}

type WriteCheck = { ok: true; fields: SfRecord } | { ok: false; error: ApiError };

class HttpError extends Error {
    constructor(
        readonly status: number,
        readonly body: unknown
    ) {
        super(`HTTP ${status}`);
    }
}

const apiError = (status: number, errorCode: string, message: string, fields?: string[]): HttpError =>
    new HttpError(status, [fields === undefined ? { message, errorCode } : { message, errorCode, fields }]);

const notFound = (): HttpError => apiError(404, 'NOT_FOUND', 'The requested resource does not exist');

const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]*$/;
const VERSIONS = ['60.0', '61.0', '62.0', '63.0', '64.0', '65.0', '66.0', '67.0'];

export async function startSalesforceEmulator(options: SalesforceEmulatorOptions = {}): Promise<SalesforceEmulator> {
    const orgId = options.orgId ?? '00DHp00000EmuLAT0R';
    const userId = makeId('005', 1);
    const apiLimit = options.apiLimit ?? 100000;
    const defaultBatch = options.queryBatchSize ?? 2000;

    const fieldLists = new Map<string, string[]>();
    for (const [type, list] of Object.entries(OBJECT_FIELDS)) fieldLists.set(type, [...list]);
    const personAccounts = options.personAccounts === true;
    if (personAccounts) {
        for (const [type, list] of Object.entries(PERSON_ACCOUNT_FIELDS)) fieldLists.get(type)?.push(...list);
    }
    const knownTypes = new Map<string, string>(); // lower-case name → canonical name
    const prefixes = new Map<string, string>(Object.entries(KEY_PREFIXES));
    for (const type of prefixes.keys()) knownTypes.set(type.toLowerCase(), type);
    let customIndex = 0;
    for (const [type, extra] of Object.entries(options.extraFields ?? {})) {
        if (!knownTypes.has(type.toLowerCase())) {
            knownTypes.set(type.toLowerCase(), type);
            prefixes.set(type, `a0${String.fromCharCode(65 + (customIndex++ % 26))}`);
        }
        const list = fieldLists.get(type);
        if (list) list.push(...extra);
    }
    const externalIds = new Map<string, string[]>();
    for (const [type, list] of Object.entries(options.externalIdFields ?? DEFAULT_EXTERNAL_ID_FIELDS)) {
        externalIds.set(type, [...list]);
    }
    const required = new Map<string, string[]>();
    for (const [type, list] of Object.entries(DEFAULT_REQUIRED_FIELDS)) required.set(type, [...list]);
    /** Fields made read-only for the integration user (removeField / setFieldReadOnly). */
    const restricted = new Map<string, Set<string>>();
    let policy = new AccessPolicy(options.integrationUser, userId);
    let assignmentRule: CaseAssignmentRule | null = options.caseAssignmentRule ?? null;
    const restrictedPicklists = new Map<string, Map<string, string[]>>();
    for (const [type, fields] of Object.entries(options.restrictedPicklists ?? {})) {
        restrictedPicklists.set(type, new Map(Object.entries(fields)));
    }
    /** Sforce-Auto-Assign of the request being handled (handleRest runs synchronously). */
    let autoAssign = true;
    const writable = (type: string, field: string): boolean =>
        !isReadOnly(type, field) && restricted.get(type)?.has(field) !== true && policy.field(type, field).edit;

    const store = new Map<string, Map<string, SfRecord>>();
    const byId = new Map<string, { type: string; record: SfRecord }>();
    let idCounter = 1000;
    let caseNumber = 1000;

    let validTokens = new Set<string>();
    let tokensIssued = 0;
    let apiUsed = 0;
    let limitFlag = false;
    let failures: InjectedFailure[] = [];
    const validationFailures = new Map<string, ValidationFailure>();
    let counters: ApiCallCounters = { total: 0, byKind: {} };
    const log: RequestLogEntry[] = [];
    const cursors = new Map<string, { records: SfRecord[]; batch: number }>();
    let baseUrl = '';

    const canonicalType = (name: string): string | undefined => knownTypes.get(name.toLowerCase());
    const tableOf = (type: string): Map<string, SfRecord> => {
        let table = store.get(type);
        if (!table) {
            table = new Map();
            store.set(type, table);
        }
        return table;
    };
    const canonicalField = (type: string, name: string): string | undefined => {
        const list = fieldLists.get(type);
        const lower = name.toLowerCase();
        if (list) return list.find((f) => f.toLowerCase() === lower);
        if (!NAME_PATTERN.test(name)) return undefined;
        if (lower === 'id') return 'Id';
        for (const record of tableOf(type).values()) {
            const hit = Object.keys(record).find((k) => k.toLowerCase() === lower);
            if (hit) return hit;
        }
        return name;
    };
    /** A field as the API user sees it: undefined when it does not exist or field-level security hides it. */
    const userField = (type: string, name: string): string | undefined => {
        const field = canonicalField(type, name);
        if (field === undefined || !policy.field(type, field).read) return undefined;
        policy.noteField(type, field, 'read');
        return field;
    };
    /** An object the API user may read (others answer INVALID_TYPE / NOT_FOUND, as if they did not exist). */
    const userType = (name: string): string | undefined => {
        const type = canonicalType(name);
        if (type === undefined || !policy.object(type).read) return undefined;
        policy.noteObject(type, 'read');
        return type;
    };
    const visible = (type: string, record: SfRecord): boolean => policy.recordAccess(type, record) !== 'none';
    /** Whether the API user can see the record with this id (its object readable, the record shared with it). */
    const canSee = (rawId: string): boolean => {
        const hit = byId.get(toId18(rawId) ?? '');
        if (hit === undefined || !policy.object(hit.type).read || !visible(hit.type, hit.record)) return false;
        policy.noteObject(hit.type, 'read');
        return true;
    };
    /** Assignment rules run on API writes of Cases unless the request says Sforce-Auto-Assign: FALSE. */
    const assign = (type: string, record: SfRecord): void => {
        if (type !== 'Case' || !autoAssign || assignmentRule === null) return;
        const rule = assignmentRule;
        if (Object.entries(rule.match ?? {}).every(([k, v]) => record[k] === v)) record.OwnerId = rule.ownerId;
    };
    const insufficientAccess = (): ApiError => ({
        message: 'insufficient access rights on object id',
        errorCode: 'INSUFFICIENT_ACCESS_OR_READONLY',
        fields: []
    });
    const recordUrl = (version: string) => (type: string, id: string) =>
        `/services/data/v${version}/sobjects/${type}/${id}`;

    const fullName = (record: SfRecord): string =>
        [record.FirstName, record.LastName].filter((v) => typeof v === 'string' && v !== '').join(' ');

    /** A person account's Contact mirrors the person fields of its Account. */
    const syncPersonContact = (account: SfRecord): void => {
        const contact = byId.get(String(account.PersonContactId))?.record;
        if (!contact) return;
        Object.assign(contact, {
            FirstName: account.FirstName ?? null,
            LastName: account.LastName ?? null,
            Salutation: account.Salutation ?? null,
            Email: account.PersonEmail ?? null,
            MobilePhone: account.PersonMobilePhone ?? null,
            HomePhone: account.PersonHomePhone ?? null,
            OtherPhone: account.PersonOtherPhone ?? null,
            Phone: account.Phone ?? null,
            LastModifiedDate: account.LastModifiedDate,
            SystemModstamp: account.SystemModstamp
        });
        contact.Name = fullName(contact);
    };

    const derive = (type: string, record: SfRecord): void => {
        if (type === 'Contact' || type === 'Lead') record.Name = fullName(record);
        if (type === 'Account' && personAccounts && record.IsPersonAccount === true) {
            record.Name = fullName(record);
            syncPersonContact(record);
        }
        if (type === 'Case') record.IsClosed = record.Status === 'Closed';
    };

    const storeNew = (type: string, fields: SfRecord): SfRecord => {
        const prefix = prefixes.get(type) ?? 'a0Z';
        const id = makeId(prefix, ++idCounter);
        const now = sfDateTime(new Date());
        const record: SfRecord = {
            Id: id,
            IsDeleted: false,
            CreatedDate: now,
            CreatedById: userId,
            LastModifiedDate: now,
            LastModifiedById: userId,
            SystemModstamp: now,
            OwnerId: userId
        };
        if (type === 'Case') {
            record.CaseNumber = String(++caseNumber).padStart(8, '0');
            record.Status = 'New';
            record.Priority = 'Medium';
        }
        if (type === 'Lead') {
            record.Status = 'Open - Not Contacted';
            record.IsConverted = false;
        }
        if (personAccounts && (type === 'Contact' || type === 'Account')) record.IsPersonAccount = false;
        Object.assign(record, fields);
        tableOf(type).set(id, record);
        byId.set(id, { type, record });
        if (type === 'ContentVersion') storeContentDocument(record);
        // An Account saved with a LastName is a person account; Salesforce creates its person Contact with it.
        if (type === 'Account' && personAccounts && typeof record.LastName === 'string' && record.LastName !== '') {
            record.IsPersonAccount = true;
            const contact = storeNew('Contact', { AccountId: id, IsPersonAccount: true });
            record.PersonContactId = contact.Id;
        }
        derive(type, record);
        return record;
    };

    /**
     * Inserting a ContentVersion creates its ContentDocument (069…) and, for FirstPublishLocationId, the
     * ContentDocumentLink sharing it with that record, as Salesforce does.
     */
    const storeContentDocument = (version: SfRecord): void => {
        const data = typeof version.VersionData === 'string' ? Buffer.from(version.VersionData, 'base64') : undefined;
        version.ContentSize = data?.length ?? 0;
        version.IsLatest = true;
        version.VersionNumber = '1';
        const pathOnClient = typeof version.PathOnClient === 'string' ? version.PathOnClient : '';
        version.FileExtension = pathOnClient.includes('.')
            ? pathOnClient.slice(pathOnClient.lastIndexOf('.') + 1)
            : null;
        version.Title ??= pathOnClient.replace(/\.[^.]*$/, '');
        const document = storeNew('ContentDocument', {
            Title: version.Title,
            LatestPublishedVersionId: version.Id,
            FileExtension: version.FileExtension,
            ContentSize: version.ContentSize
        });
        version.ContentDocumentId = document.Id;
        const linked = version.FirstPublishLocationId;
        if (typeof linked === 'string' && linked !== '') {
            storeNew('ContentDocumentLink', {
                ContentDocumentId: document.Id,
                LinkedEntityId: toId18(linked) ?? linked,
                ShareType: 'V',
                Visibility: 'AllUsers'
            });
        }
        storeNew('ContentDocumentLink', {
            ContentDocumentId: document.Id,
            LinkedEntityId: userId,
            ShareType: 'I',
            Visibility: 'AllUsers'
        });
    };

    const applyUpdate = (type: string, record: SfRecord, fields: SfRecord): void => {
        Object.assign(record, fields);
        const now = sfDateTime(new Date());
        record.LastModifiedDate = now;
        record.SystemModstamp = now;
        derive(type, record);
    };

    /** Salesforce's checks on a write, in its order; returns canonical fields or the error. */
    const fail = (error: ApiError): WriteCheck => ({ ok: false, error });
    const validateWrite = (type: string, body: unknown, mode: 'insert' | 'update'): WriteCheck => {
        if (body === null || typeof body !== 'object' || Array.isArray(body)) {
            return fail({ message: 'The request body must be a JSON object', errorCode: 'JSON_PARSER_ERROR' });
        }
        const out: SfRecord = {};
        for (const [key, value] of Object.entries(body as SfRecord)) {
            if (key === 'attributes') continue;
            if (key.toLowerCase() === 'id') {
                return fail({
                    message: 'The Id field should not be specified in the sobject data.',
                    errorCode: 'INVALID_FIELD'
                });
            }
            const field = userField(type, key);
            if (!field) {
                return fail({
                    message: `No such column '${key}' on sobject of type ${type}`,
                    errorCode: 'INVALID_FIELD',
                    fields: []
                });
            }
            if (!writable(type, field)) {
                return fail({
                    message: `Unable to create/update fields: ${field}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
                    errorCode: 'INVALID_FIELD_FOR_INSERT_UPDATE',
                    fields: [field]
                });
            }
            policy.noteField(type, field, 'edit');
            out[field] = value;
        }
        const injected = validationFailures.get(type);
        const hits = (rule: ValidationFailure): boolean =>
            Object.entries(rule.match ?? {}).every(([k, v]) => out[canonicalField(type, k) ?? k] === v);
        if (injected && hits(injected)) {
            if (injected.times !== undefined) {
                injected.times -= 1;
                if (injected.times <= 0) validationFailures.delete(type);
            }
            return fail({ message: injected.message, errorCode: injected.errorCode, fields: [...injected.fields] });
        }
        const blank = (v: unknown): boolean => v === undefined || v === null || v === '';
        const person = type === 'Account' && personAccounts && !blank(out.LastName);
        const missing = (required.get(type) ?? [])
            .map((f) => (person && f === 'Name' ? 'LastName' : f))
            .filter((f) => (mode === 'insert' ? blank(out[f]) : f in out && blank(out[f])));
        if (missing.length > 0) {
            return fail({
                message: `Required fields are missing: [${missing.join(', ')}]`,
                errorCode: 'REQUIRED_FIELD_MISSING',
                fields: missing
            });
        }
        for (const [field, max] of Object.entries(FIELD_LENGTHS[type] ?? {})) {
            const value = out[field];
            if (typeof value === 'string' && value.length > max) {
                return fail({
                    message: `${field}: data value too large: ${value.slice(0, 20)}... (max length=${max})`,
                    errorCode: 'STRING_TOO_LONG',
                    fields: [field]
                });
            }
        }
        for (const [field, values] of restrictedPicklists.get(type) ?? []) {
            const value = out[field];
            if (typeof value === 'string' && value !== '' && !values.includes(value)) {
                return fail({
                    message: `bad value for restricted picklist field: ${value}`,
                    errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
                    fields: [field]
                });
            }
        }
        return { ok: true, fields: out };
    };
    /**
     * External-id fields are Unique here (as the contract's Case fields are): a write that would give
     * another record the same value (case-insensitive) fails with DUPLICATE_VALUE, Salesforce's message.
     */
    const checkUnique = (type: string, fields: SfRecord, selfId?: unknown): ApiError | undefined => {
        for (const field of externalIds.get(type) ?? []) {
            const value = fields[field];
            if (typeof value !== 'string' || value === '') continue;
            const lower = value.toLowerCase();
            for (const other of tableOf(type).values()) {
                const theirs = other[field];
                if (other.Id !== selfId && typeof theirs === 'string' && theirs.toLowerCase() === lower) {
                    return {
                        message: `duplicate value found: ${field} duplicates value on record with id: ${String(other.Id)}`,
                        errorCode: 'DUPLICATE_VALUE',
                        fields: []
                    };
                }
            }
        }
        return undefined;
    };

    /** Checks a validated insert for uniqueness, then stores it. */
    const insertChecked = (type: string, fields: SfRecord): WriteCheck => {
        if (!policy.object(type).create) return fail(insufficientAccess());
        policy.noteObject(type, 'create');
        const shareWith = type === 'ContentVersion' ? fields.FirstPublishLocationId : undefined;
        if (typeof shareWith === 'string' && shareWith !== '' && !canSee(shareWith)) {
            // A file is shared with a record only by someone who can see it (a Case of another owner, Private).
            return fail({
                message: `insufficient access rights on cross-reference id: ${shareWith}`,
                errorCode: 'INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY',
                fields: []
            });
        }
        const duplicate = checkUnique(type, fields);
        if (duplicate) return fail(duplicate);
        const record = storeNew(type, fields);
        assign(type, record);
        return { ok: true, fields: record };
    };

    const soqlContext = (version: string): SoqlContext => ({
        isKnownType: (type) => userType(type) !== undefined,
        canonicalType: userType,
        canonicalField: userField,
        records: (type) => [...tableOf(type).values()].filter((r) => visible(type, r)),
        findById: (id) => {
            const hit = typeof id === 'string' ? byId.get(toId18(id) ?? '') : undefined;
            return hit && policy.object(hit.type).read && visible(hit.type, hit.record) ? hit : undefined;
        },
        recordUrl: recordUrl(version)
    });

    const shapeRecord = (version: string, type: string, record: SfRecord, fields?: string[]): SfRecord => {
        const out: SfRecord = { attributes: { type, url: recordUrl(version)(type, String(record.Id)) } };
        if (fields) {
            for (const f of fields) {
                const canonical = userField(type, f);
                if (!canonical)
                    throw apiError(400, 'INVALID_FIELD', `No such column '${f}' on sobject of type ${type}`);
                out[canonical] = record[canonical] ?? null;
            }
        } else {
            const all = fieldLists.get(type) ?? Object.keys(record);
            for (const f of all) if (policy.field(type, f).read) out[f] = record[f] ?? null;
        }
        return out;
    };

    const findRecord = (type: string, rawId: string): SfRecord => {
        const hit = byId.get(toId18(rawId) ?? '');
        if (!hit || hit.type !== type) throw notFound();
        return hit.record;
    };

    /** A record the API user can see, else 404 as Salesforce answers for a record shared with nobody it knows. */
    const visibleRecord = (type: string, rawId: string): SfRecord => {
        const record = findRecord(type, rawId);
        if (!visible(type, record)) throw notFound();
        return record;
    };

    const knownTypeOr404 = (raw: string): string => {
        const type = userType(raw);
        if (!type) throw notFound();
        return type;
    };

    const queryPage = (version: string, locator: string, offset: number): SfRecord => {
        const cursor = cursors.get(locator);
        if (!cursor) throw apiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
        const page = cursor.records.slice(offset, offset + cursor.batch);
        const next = offset + cursor.batch;
        const done = next >= cursor.records.length;
        if (done) cursors.delete(locator);
        return {
            totalSize: cursor.records.length,
            done,
            ...(done ? {} : { nextRecordsUrl: `/services/data/v${version}/query/${locator}-${next}` }),
            records: page
        };
    };

    const parseJson = (raw: string): unknown => {
        try {
            return JSON.parse(raw === '' ? 'null' : raw) as unknown;
        } catch (error) {
            throw apiError(
                400,
                'JSON_PARSER_ERROR',
                `Unexpected character: ${error instanceof Error ? error.message : ''}`
            );
        }
    };

    const classify = (method: string, rest: string[]): string => {
        const [head, a, b, c] = rest;
        if (head === undefined || head === '') return 'resources';
        if (head === 'query' || head === 'queryAll') return a === undefined ? 'query' : 'queryMore';
        if (head === 'search' || head === 'parameterizedSearch') return 'search';
        if (head === 'limits') return 'limits';
        if (head === 'composite') return 'composite';
        if (head === 'sobjects') {
            if (a === undefined) return 'describeGlobal';
            if (b === undefined) return method === 'POST' ? 'create' : 'describe';
            if (b === 'describe' && c === undefined && method === 'GET') return 'describe';
            if (c !== undefined) return 'upsert';
            if (method === 'GET') return 'retrieve';
            if (method === 'PATCH') return 'update';
            if (method === 'DELETE') return 'delete';
        }
        return 'other';
    };

    /** The REST resources under /services/data/v{version}/. Returns [status, body]. */
    const handleRest = (
        method: string,
        version: string,
        rest: string[],
        url: URL,
        req: IncomingMessage,
        raw: string,
        multipart?: MultipartBody
    ): [number, unknown] => {
        const [head, a, b, c] = rest;
        if (head === undefined || head === '') {
            if (method !== 'GET')
                throw apiError(405, 'METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed. Allowed are GET`);
            const base = `/services/data/v${version}`;
            return [
                200,
                {
                    sobjects: `${base}/sobjects`,
                    query: `${base}/query`,
                    queryAll: `${base}/queryAll`,
                    search: `${base}/search`,
                    limits: `${base}/limits`,
                    composite: `${base}/composite`
                }
            ];
        }
        if ((head === 'query' || head === 'queryAll') && method === 'GET') {
            if (a !== undefined) {
                const m = /^(01g[A-Za-z0-9]+)-(\d+)$/.exec(a);
                if (!m) throw apiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
                return [200, queryPage(version, m[1] ?? '', Number(m[2]))];
            }
            const q = url.searchParams.get('q');
            if (!q) throw apiError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
            let result;
            try {
                result = runSoql(q, soqlContext(version));
            } catch (error) {
                if (error instanceof SoqlError) throw apiError(400, error.errorCode, withQueryEcho(q, error.message));
                throw error;
            }
            if (result.records === undefined) return [200, { totalSize: result.totalSize, done: true, records: [] }];
            const header = req.headers['sforce-query-options'];
            const m = /batchSize=(\d+)/i.exec(Array.isArray(header) ? header.join(',') : (header ?? ''));
            const batch = Math.max(1, m ? Number(m[1]) : defaultBatch);
            const locator = `01g${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x').slice(0, 12)}`;
            cursors.set(locator, { records: result.records, batch });
            return [200, queryPage(version, locator, 0)];
        }
        if (head === 'limits' && method === 'GET') {
            return [200, { DailyApiRequests: { Max: apiLimit, Remaining: Math.max(0, apiLimit - apiUsed) } }];
        }
        if (head === 'search' && method === 'GET') {
            const q = url.searchParams.get('q') ?? '';
            if (!options.searchHandler) {
                try {
                    return [200, { searchRecords: runSosl(q, soqlContext(version)) }];
                } catch (error) {
                    if (error instanceof SoslError) throw apiError(400, error.errorCode, error.message);
                    throw error;
                }
            }
            try {
                return [200, options.searchHandler(q, emulator)];
            } catch (error) {
                const e = error as Partial<ApiError>;
                throw apiError(400, e.errorCode ?? 'MALFORMED_SEARCH', e.message ?? 'search failed');
            }
        }
        if (head === 'composite' && a === 'sobjects' && b === undefined && method === 'POST') {
            return [200, compositeCreate(parseJson(raw))];
        }
        if (head === 'composite' && a === 'sobjects' && b !== undefined && c !== undefined && method === 'PATCH') {
            const type = knownTypeOr404(b);
            return [200, compositeUpsert(type, externalIdFieldOr404(type, c), parseJson(raw))];
        }
        if (head === 'sobjects' && a !== undefined) {
            const type = knownTypeOr404(a);
            if (b === undefined && method === 'POST') {
                // Insert or Update Blob Data: the fields come as JSON in one part, the file's bytes in another.
                let input: unknown;
                if (multipart === undefined) input = parseJson(raw);
                else {
                    const blob = blobInsertFields(type, multipart);
                    if (!blob.ok) throw new HttpError(blob.status, [blob.error]);
                    input = blob.fields;
                }
                const result = validateWrite(type, input, 'insert');
                if (!result.ok) throw new HttpError(400, [result.error]);
                const missing = requiredOnCreate(type, result.fields);
                if (missing) throw new HttpError(400, [missing]);
                const stored = insertChecked(type, result.fields);
                if (!stored.ok) throw new HttpError(400, [stored.error]);
                return [201, { id: stored.fields.Id, success: true, errors: [] }];
            }
            if (b === 'describe' && c === undefined && method === 'GET') return [200, describeObject(type)];
            if (b !== undefined && c === undefined) {
                if (method === 'GET') {
                    const fieldsParam = url.searchParams.get('fields');
                    const fields = fieldsParam
                        ? fieldsParam
                              .split(',')
                              .map((f) => f.trim())
                              .filter(Boolean)
                        : undefined;
                    return [200, shapeRecord(version, type, visibleRecord(type, b), fields)];
                }
                if (method === 'PATCH') {
                    const record = visibleRecord(type, b);
                    if (policy.recordAccess(type, record) !== 'edit') throw new HttpError(400, [insufficientAccess()]);
                    policy.noteObject(type, 'edit');
                    const result = validateWrite(type, parseJson(raw), 'update');
                    if (!result.ok) throw new HttpError(400, [result.error]);
                    const duplicate = checkUnique(type, result.fields, record.Id);
                    if (duplicate) throw new HttpError(400, [duplicate]);
                    applyUpdate(type, record, result.fields);
                    assign(type, record);
                    return [204, undefined];
                }
                if (method === 'DELETE') {
                    const record = visibleRecord(type, b);
                    if (!policy.object(type).delete) throw new HttpError(400, [insufficientAccess()]);
                    tableOf(type).delete(String(record.Id));
                    byId.delete(String(record.Id));
                    return [204, undefined];
                }
            }
            if (b !== undefined && c !== undefined && method === 'PATCH') {
                const [status, result] = upsertOne(
                    type,
                    externalIdFieldOr404(type, b),
                    decodeURIComponent(c),
                    parseJson(raw)
                );
                if (status === 300)
                    return [300, (result as SfRecord[]).map((r) => recordUrl(version)(type, String(r.Id)))];
                if (status === 400) throw new HttpError(400, [result]);
                return [status, result];
            }
        }
        throw notFound();
    };

    /** GET sobjects/{type}/describe: the fields the integration user can see, with what it may do to them. */
    const describeObject = (type: string): unknown => {
        const names = fieldLists.get(type) ?? [
            ...new Set([...SYSTEM_FIELD_NAMES, ...[...tableOf(type).values()].flatMap((r) => Object.keys(r))])
        ];
        const ids = externalIds.get(type) ?? [];
        const objectAccess = policy.object(type);
        return {
            name: type,
            label: type,
            custom: type.endsWith('__c'),
            keyPrefix: prefixes.get(type) ?? null,
            createable: objectAccess.create,
            updateable: objectAccess.edit,
            queryable: true,
            fields: names
                .filter((name) => policy.field(type, name).read)
                .map((name) => {
                    const fieldType = fieldTypeOf(name);
                    const canWrite = name !== 'Id' && writable(type, name);
                    return {
                        name,
                        label: name.replace(/__c$/, '').replace(/_/g, ' '),
                        type: fieldType,
                        custom: name.endsWith('__c'),
                        length: FIELD_LENGTHS[type]?.[name] ?? (fieldType === 'string' ? 255 : 0),
                        createable: canWrite,
                        updateable: canWrite,
                        nillable: !(required.get(type) ?? []).includes(name) && name !== 'Id',
                        externalId: ids.includes(name),
                        unique: ids.includes(name)
                    };
                })
        };
    };

    const externalIdFieldOr404 = (type: string, rawField: string): string => {
        const field = (externalIds.get(type) ?? []).find((f) => f.toLowerCase() === rawField.toLowerCase());
        if (field !== undefined) policy.noteField(type, field, 'edit');
        if (!field || !policy.field(type, field).edit) {
            throw apiError(
                404,
                'NOT_FOUND',
                `Provided external ID field does not exist or is not accessible: ${rawField}`
            );
        }
        return field;
    };

    /** Salesforce's required-field check for an insert, for types with a field list (ContentVersion data). */
    const requiredOnCreate = (type: string, fields: SfRecord): ApiError | undefined => {
        if (type !== 'ContentVersion') return undefined;
        const missing = ['PathOnClient', 'VersionData'].filter(
            (f) => typeof fields[f] !== 'string' || fields[f] === ''
        );
        return missing.length > 0
            ? {
                  message: `Required fields are missing: [${missing.join(', ')}]`,
                  errorCode: 'REQUIRED_FIELD_MISSING',
                  fields: missing
              }
            : undefined;
    };

    /**
     * One upsert by external id, shared by the single-record resource and sObject Collections:
     * [201, result] created, [200, result] updated, [300, matches] ambiguous, [400, error] rejected.
     */
    const upsertOne = (
        type: string,
        field: string,
        value: string,
        body: unknown,
        dryRun = false
    ): [number, unknown] => {
        const lower = value.toLowerCase();
        // Only records the user can see match; a hidden one still holds the unique value (DUPLICATE_VALUE below).
        const matches = [...tableOf(type).values()].filter(
            (r) => typeof r[field] === 'string' && r[field].toLowerCase() === lower && visible(type, r)
        );
        if (matches.length > 1) return [300, matches];
        if (matches[0] !== undefined && policy.recordAccess(type, matches[0]) !== 'edit') {
            return [400, insufficientAccess()];
        }
        if (matches[0] === undefined && !policy.object(type).create) return [400, insufficientAccess()];
        policy.noteObject(type, matches[0] === undefined ? 'create' : 'edit');
        const withoutKey = { ...(body as SfRecord) };
        for (const k of Object.keys(withoutKey)) if (k.toLowerCase() === field.toLowerCase()) delete withoutKey[k];
        const existing = matches[0];
        const result = validateWrite(type, withoutKey, existing ? 'update' : 'insert');
        if (!result.ok) return [400, result.error];
        const duplicate = checkUnique(
            type,
            existing ? result.fields : { ...result.fields, [field]: value },
            existing?.Id
        );
        if (duplicate) return [400, duplicate];
        if (dryRun) return [existing ? 200 : 201, { success: true, errors: [], created: !existing }];
        if (existing) {
            applyUpdate(type, existing, result.fields);
            assign(type, existing);
            return [200, { id: existing.Id, success: true, errors: [], created: false }];
        }
        const record = storeNew(type, { ...result.fields, [field]: value });
        assign(type, record);
        return [201, { id: record.Id, success: true, errors: [], created: true }];
    };

    const recordErrorResult = (error: ApiError, created?: boolean): unknown => ({
        success: false,
        ...(created === undefined ? {} : { created }),
        errors: [{ statusCode: error.errorCode, message: error.message, fields: error.fields ?? [] }]
    });

    const ROLLED_BACK: ApiError = {
        errorCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
        message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
        fields: []
    };

    const collectionRecords = (body: unknown): { allOrNone: boolean; records: unknown[] } => {
        const input = body as { allOrNone?: unknown; records?: unknown } | null;
        if (!input || !Array.isArray(input.records)) throw apiError(400, 'JSON_PARSER_ERROR', 'records is required');
        if (input.records.length > 200) {
            throw apiError(
                400,
                'EXCEEDED_ID_LIMIT',
                'record limit reached. cannot submit more than 200 records into this call'
            );
        }
        return { allOrNone: input.allOrNone === true, records: input.records as unknown[] };
    };

    /**
     * PATCH composite/sobjects/{type}/{externalIdField}: up to 200 upserts in one call (one API request),
     * 200 OK with one UpsertResult per record in order; per-record errors carry `statusCode`.
     */
    const compositeUpsert = (type: string, field: string, body: unknown): unknown[] => {
        const { allOrNone, records } = collectionRecords(body);
        const prepared = records.map((r): { value: string; body: SfRecord } | { error: ApiError } => {
            const rec = (r ?? {}) as SfRecord;
            const attrs = rec.attributes as { type?: unknown } | undefined;
            if (typeof attrs?.type !== 'string' || canonicalType(attrs.type) !== type) {
                return {
                    error: {
                        errorCode: 'INVALID_TYPE',
                        message: `The sObject type in attributes must be ${type}`,
                        fields: []
                    }
                };
            }
            const key = Object.keys(rec).find((k) => k.toLowerCase() === field.toLowerCase());
            const value = key === undefined ? undefined : rec[key];
            if (typeof value !== 'string' || value === '') {
                return {
                    error: { errorCode: 'MISSING_ARGUMENT', message: `${field} not specified`, fields: [field] }
                };
            }
            const { attributes: _attributes, ...fields } = rec;
            return { value, body: fields };
        });
        const counts = new Map<string, number>();
        for (const p of prepared)
            if ('value' in p) counts.set(p.value.toLowerCase(), (counts.get(p.value.toLowerCase()) ?? 0) + 1);
        const checked = prepared.map((p): { value: string; body: SfRecord } | { error: ApiError } =>
            'value' in p && (counts.get(p.value.toLowerCase()) ?? 0) > 1
                ? {
                      error: {
                          errorCode: 'DUPLICATE_EXTERNAL_ID',
                          message: `Duplicate external id specified: ${p.value}`,
                          fields: [field]
                      }
                  }
                : p
        );
        if (allOrNone) {
            const verdicts = checked.map((p) => {
                if ('error' in p) return p.error;
                const [status, result] = upsertOne(type, field, p.value, p.body, true);
                return status === 400 ? (result as ApiError) : status === 300 ? ambiguous(field, p.value) : undefined;
            });
            if (verdicts.some((v) => v !== undefined)) {
                return verdicts.map((v) => recordErrorResult(v ?? ROLLED_BACK, false));
            }
        }
        return checked.map((p) => {
            if ('error' in p) return recordErrorResult(p.error, false);
            const [status, result] = upsertOne(type, field, p.value, p.body);
            if (status === 400) return recordErrorResult(result as ApiError, false);
            if (status === 300) return recordErrorResult(ambiguous(field, p.value), false);
            return result;
        });
    };

    const ambiguous = (field: string, value: string): ApiError => ({
        errorCode: 'DUPLICATE_EXTERNAL_ID',
        message: `${field}: more than one record found for external id field: ${value}`,
        fields: [field]
    });

    const compositeCreate = (body: unknown): unknown[] => {
        const input = collectionRecords(body);
        const checked = input.records.map((r) => {
            const rec = (r ?? {}) as SfRecord;
            const attrs = rec.attributes as { type?: unknown } | undefined;
            const type = typeof attrs?.type === 'string' ? userType(attrs.type) : undefined;
            if (!type)
                return {
                    type: '',
                    result: fail({ message: 'sObject type is not supported', errorCode: 'INVALID_TYPE', fields: [] })
                };
            const result = validateWrite(type, rec, 'insert');
            const missing = result.ok ? requiredOnCreate(type, result.fields) : undefined;
            return { type, result: missing ? fail(missing) : result };
        });
        const anyError = checked.some((c) => !c.result.ok);
        if (input.allOrNone === true && anyError) {
            return checked.map((c) =>
                !c.result.ok
                    ? {
                          success: false,
                          errors: [
                              {
                                  statusCode: c.result.error.errorCode,
                                  message: c.result.error.message,
                                  fields: c.result.error.fields ?? []
                              }
                          ]
                      }
                    : {
                          success: false,
                          errors: [
                              {
                                  statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
                                  message:
                                      'Record rolled back because not all records were valid and the request was using AllOrNone header',
                                  fields: []
                              }
                          ]
                      }
            );
        }
        return checked.map((c) => {
            if (!c.result.ok) {
                return {
                    success: false,
                    errors: [
                        {
                            statusCode: c.result.error.errorCode,
                            message: c.result.error.message,
                            fields: c.result.error.fields ?? []
                        }
                    ]
                };
            }
            const stored = insertChecked(c.type, c.result.fields);
            if (!stored.ok) return recordErrorResult(stored.error);
            return { id: stored.fields.Id, success: true, errors: [] };
        });
    };

    const handleControl = (method: string, parts: string[], raw: string): [number, unknown] => {
        const [what, arg] = parts;
        const body = (raw === '' ? {} : parseJson(raw)) as Record<string, unknown>;
        const state = () => ({
            apiCalls: emulator.apiCalls,
            tokensIssued,
            apiUsage: emulator.apiUsage,
            limitExceeded: limitFlag,
            pendingFailures: failures.length
        });
        if (what === 'state' && method === 'GET') return [200, state()];
        if (what === 'requests' && method === 'GET') return [200, log];
        if (what === 'records' && arg !== undefined) {
            if (method === 'GET') return [200, emulator.records(arg)];
            if (method === 'POST') return [201, emulator.insert(arg, body)];
        }
        if (method !== 'POST') throw notFound();
        switch (what ?? '') {
            case 'expire-tokens':
                emulator.expireTokens();
                return [200, state()];
            case 'fail-next': {
                const count = typeof body.count === 'number' ? body.count : 1;
                if (body.resetConnection === true) emulator.failNext(count, { resetConnection: true });
                else if (typeof body.delayMs === 'number') emulator.failNext(count, { delayMs: body.delayMs });
                else {
                    emulator.failNext(count, {
                        status: body.status === 500 ? 500 : 503,
                        ...(typeof body.errorCode === 'string' ? { errorCode: body.errorCode } : {}),
                        ...(typeof body.message === 'string' ? { message: body.message } : {})
                    });
                }
                return [200, state()];
            }
            case 'limit-exceeded':
                emulator.limitExceeded(body.on !== false);
                return [200, state()];
            case 'require-fields':
                emulator.requireFields(String(body.type), Array.isArray(body.fields) ? body.fields.map(String) : []);
                return [200, state()];
            case 'fail-validation':
                emulator.failValidation(
                    String(body.type),
                    body.clear === true
                        ? null
                        : {
                              errorCode:
                                  typeof body.errorCode === 'string'
                                      ? body.errorCode
                                      : 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
                              message: typeof body.message === 'string' ? body.message : 'Validation failed',
                              fields: Array.isArray(body.fields) ? body.fields.map(String) : [],
                              ...(typeof body.times === 'number' ? { times: body.times } : {}),
                              ...(body.match !== null && typeof body.match === 'object'
                                  ? { match: body.match as Record<string, unknown> }
                                  : {})
                          }
                );
                return [200, state()];
            case 'external-id':
                emulator.declareExternalId(String(body.type), String(body.field));
                return [200, state()];
            case 'remove-field':
                emulator.removeField(String(body.type), String(body.field));
                return [200, state()];
            case 'read-only-field':
                emulator.setFieldReadOnly(String(body.type), String(body.field), body.readOnly !== false);
                return [200, state()];
            case 'reset':
                emulator.reset();
                return [200, state()];
            default:
                throw notFound();
        }
    };

    const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
        const payload = body === undefined ? '' : JSON.stringify(body);
        res.writeHead(status, {
            ...(body === undefined ? {} : { 'Content-Type': 'application/json;charset=UTF-8' }),
            ...headers
        });
        res.end(payload);
    };

    const readBody = (req: IncomingMessage): Promise<Buffer> =>
        new Promise((resolve, reject) => {
            const chunks: Buffer[] = [];
            req.on('data', (c: Buffer) => chunks.push(c));
            req.on('end', () => resolve(Buffer.concat(chunks)));
            req.on('error', reject);
        });

    const oauthSettings: OAuthSettings = {
        clientId: options.clientId ?? 'emulator-client-id',
        clientSecret: options.clientSecret ?? 'emulator-client-secret',
        username: options.username ?? 'integration@haptik.example',
        jwtPublicKey: options.jwtPublicKey,
        orgId,
        userId,
        audiences: ['https://login.salesforce.com', 'https://test.salesforce.com'],
        scope: options.tokenScope ?? 'api',
        baseUrl: () => baseUrl,
        now: () => Date.now()
    };

    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
        const bytes = await readBody(req);
        const raw = bytes.toString('utf8');
        const method = (req.method ?? 'GET').toUpperCase();
        const url = new URL(req.url ?? '/', baseUrl);
        const path = url.pathname.replace(/\/+$/, '');

        if (path === '/services/oauth2/token') {
            if (method !== 'POST')
                return send(res, 400, { error: 'invalid_request', error_description: 'must use HTTP POST' });
            const outcome = issueToken(new URLSearchParams(raw), oauthSettings);
            log.push({ method, path, kind: 'token', status: outcome.ok ? 200 : outcome.status });
            if (!outcome.ok) return send(res, outcome.status, outcome.body);
            tokensIssued += 1;
            validTokens.add(outcome.accessToken);
            return send(res, 200, outcome.body);
        }
        if (path.startsWith('/__emulator/')) {
            const [status, body] = handleControl(
                method,
                path.slice('/__emulator/'.length).split('/').map(decodeURIComponent),
                raw
            );
            return send(res, status, body);
        }
        if (path === '/services/data' && method === 'GET') {
            return send(
                res,
                200,
                VERSIONS.map((v) => ({ label: `v${v}`, url: `/services/data/v${v}`, version: v }))
            );
        }
        const m = /^\/services\/data\/v(\d+\.\d)(\/.*)?$/.exec(path);
        if (!m) return send(res, 404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
        const version = m[1] ?? '64.0';
        const rest = (m[2] ?? '').split('/').filter((p) => p !== '');
        const kind = classify(method, rest);
        const entry: RequestLogEntry = { method, path, kind, status: 0 };
        const assignHeader = req.headers['sforce-auto-assign'];
        if (typeof assignHeader === 'string') entry.autoAssign = assignHeader;
        // TRUE, FALSE (any case) or an AssignmentRule id; absent means TRUE (REST API: Assignment Rule header).
        autoAssign = typeof assignHeader !== 'string' || assignHeader.trim().toLowerCase() !== 'false';
        log.push(entry);
        const limitHeader = (): Record<string, string> => ({ 'Sforce-Limit-Info': `api-usage=${apiUsed}/${apiLimit}` });
        const reply = (status: number, body: unknown): void => {
            entry.status = status;
            const first: unknown = Array.isArray(body) ? body[0] : undefined;
            const errorCode = (first as { errorCode?: unknown } | undefined)?.errorCode;
            if (typeof errorCode === 'string') entry.errorCode = errorCode;
            // sObject Collections answer 200 with per-record results: the first failed record's statusCode.
            const failed = Array.isArray(body)
                ? (body as Array<{ success?: unknown; errors?: Array<{ statusCode?: unknown }> }>).find(
                      (r) => r?.success === false && r.errors?.[0]?.statusCode !== 'ALL_OR_NONE_OPERATION_ROLLED_BACK'
                  )
                : undefined;
            const statusCode = failed?.errors?.[0]?.statusCode;
            if (entry.errorCode === undefined && typeof statusCode === 'string') entry.errorCode = statusCode;
            send(res, status, body, limitHeader());
        };

        const auth = req.headers.authorization ?? '';
        const token = auth.startsWith('Bearer ') ? auth.slice(7) : auth.startsWith('OAuth ') ? auth.slice(6) : '';
        if (!validTokens.has(token)) {
            return reply(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
        }
        counters.total += 1;
        counters.byKind[kind] = (counters.byKind[kind] ?? 0) + 1;
        if (limitFlag || apiUsed >= apiLimit) {
            return reply(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
        }
        const at = failures.findIndex((f) => f.onPath === undefined || path.includes(f.onPath));
        const failure = at < 0 ? undefined : failures.splice(at, 1)[0];
        if (failure && 'resetConnection' in failure) {
            entry.status = -1;
            req.socket.destroy();
            return;
        }
        if (failure && 'status' in failure) {
            apiUsed += 1;
            const errorCode =
                failure.errorCode ?? (failure.status === 503 ? 'SERVER_UNAVAILABLE' : 'UNKNOWN_EXCEPTION');
            const message =
                failure.message ??
                (failure.status === 503
                    ? 'Server is temporarily unavailable. Please try again later.'
                    : 'An unexpected error occurred. Please include this ErrorId if you contact support: 123456789-1 (-1)');
            return reply(failure.status, [{ message, errorCode }]);
        }
        if (failure && 'delayMs' in failure) {
            await new Promise((r) => setTimeout(r, failure.delayMs));
            if (res.destroyed || req.socket.destroyed) return;
        }
        apiUsed += 1;
        try {
            const multipart = isMultipart(req.headers) ? await parseMultipart(req.headers, bytes) : undefined;
            const [status, body] = handleRest(method, version, rest, url, req, raw, multipart);
            if (failure && 'stallAfterHeaders' in failure) {
                entry.status = status;
                res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8', ...limitHeader() });
                res.flushHeaders();
                if (failure.stallMs !== undefined) setTimeout(() => req.socket.destroy(), failure.stallMs).unref();
                return;
            }
            if (failure && 'gatewayErrorAfterWork' in failure) {
                entry.status = failure.gatewayErrorAfterWork;
                res.writeHead(failure.gatewayErrorAfterWork, { 'Content-Type': 'text/html' });
                res.end('<html><body><h1>Bad Gateway</h1></body></html>');
                return;
            }
            reply(status, body);
        } catch (error) {
            if (error instanceof HttpError) return reply(error.status, error.body);
            reply(500, [
                {
                    message: `emulator error: ${error instanceof Error ? error.message : String(error)}`,
                    errorCode: 'UNKNOWN_EXCEPTION'
                }
            ]);
        }
    };

    const server = await serveOnLoopback(
        handle,
        (res, error) => send(res, 500, [{ message: String(error), errorCode: 'UNKNOWN_EXCEPTION' }]),
        { port: options.port }
    );
    baseUrl = server.url;
    oauthSettings.audiences.push(baseUrl);

    const emulator: SalesforceEmulator = {
        url: baseUrl,
        close: () => server.close(),
        records: (type) => [...tableOf(canonicalType(type) ?? type).values()].map((r) => ({ ...r })),
        insert: (type, fields) => {
            const canonical = canonicalType(type);
            if (!canonical) throw new Error(`unknown sObject type ${type}`);
            const clean: SfRecord = {};
            for (const [k, v] of Object.entries(fields)) clean[canonicalField(canonical, k) ?? k] = v;
            return { ...storeNew(canonical, clean) };
        },
        update: (type, id, fields) => {
            const canonical = canonicalType(type);
            if (!canonical) throw new Error(`unknown sObject type ${type}`);
            const record = findRecord(canonical, id);
            const clean: SfRecord = {};
            for (const [k, v] of Object.entries(fields)) clean[canonicalField(canonical, k) ?? k] = v;
            applyUpdate(canonical, record, clean);
            return { ...record };
        },
        expireTokens: () => {
            validTokens = new Set();
        },
        accessTokenScopes: (token) =>
            validTokens.has(token) ? (oauthSettings.scope ?? 'api').split(/\s+/).filter(Boolean) : undefined,
        setClientSecret: (secret) => {
            oauthSettings.clientSecret = secret;
        },
        failNext: (count, failure) => {
            for (let i = 0; i < count; i++) failures.push(failure);
        },
        limitExceeded: (on) => {
            limitFlag = on;
        },
        requireFields: (type, fields) => {
            const canonical = canonicalType(type) ?? type;
            const list = required.get(canonical) ?? [];
            for (const f of fields) if (!list.includes(f)) list.push(canonicalField(canonical, f) ?? f);
            required.set(canonical, list);
        },
        failValidation: (type, failure) => {
            const canonical = canonicalType(type) ?? type;
            if (failure) validationFailures.set(canonical, { ...failure, fields: [...failure.fields] });
            else validationFailures.delete(canonical);
        },
        removeField: (type, field) => {
            const canonical = canonicalType(type) ?? type;
            const list = fieldLists.get(canonical);
            const lower = field.toLowerCase();
            if (list === undefined) return;
            fieldLists.set(
                canonical,
                list.filter((f) => f.toLowerCase() !== lower)
            );
        },
        setFieldReadOnly: (type, field, readOnly = true) => {
            const canonical = canonicalType(type) ?? type;
            const set = restricted.get(canonical) ?? new Set<string>();
            const name = canonicalField(canonical, field) ?? field;
            if (readOnly) set.add(name);
            else set.delete(name);
            restricted.set(canonical, set);
        },
        setIntegrationUser: (access) => {
            policy = new AccessPolicy(access, userId);
        },
        setCaseAssignmentRule: (rule) => {
            assignmentRule = rule;
        },
        restrictPicklist: (type, field, values) => {
            const canonical = canonicalType(type) ?? type;
            const fields = restrictedPicklists.get(canonical) ?? new Map<string, string[]>();
            if (values === null) fields.delete(canonicalField(canonical, field) ?? field);
            else fields.set(canonicalField(canonical, field) ?? field, [...values]);
            restrictedPicklists.set(canonical, fields);
        },
        userId,
        accessUsed: () => ({
            objects: Object.fromEntries(policy.used.objects),
            fields: Object.fromEntries(policy.used.fields)
        }),
        declareExternalId: (type, field) => {
            const canonical = canonicalType(type) ?? type;
            const list = externalIds.get(canonical) ?? [];
            list.push(field);
            externalIds.set(canonical, list);
        },
        reset: () => {
            failures = [];
            limitFlag = false;
            validationFailures.clear();
            counters = { total: 0, byKind: {} };
            log.length = 0;
        },
        get apiCalls() {
            return { total: counters.total, byKind: { ...counters.byKind } };
        },
        get tokensIssued() {
            return tokensIssued;
        },
        get apiUsage() {
            return { used: apiUsed, limit: apiLimit };
        },
        get requests() {
            return [...log];
        }
    };
    return emulator;
}

/**
 * Salesforce's REST query errors quote the statement, a caret under the culprit and its position before
 * the reason: "\nSELECT Id, Foo__c FROM Contact WHERE …\n           ^\nERROR at Row:1:Column:12\nNo such
 * column 'Foo__c' on entity 'Contact'. …" (values in the WHERE clause included).
 */
function withQueryEcho(soql: string, message: string): string {
    if (message.startsWith('\n')) return message;
    const culprit = /^(?:No such column|sObject type|Didn't understand relationship) '([^']+)'/.exec(message)?.[1];
    const at = culprit === undefined ? -1 : soql.indexOf(culprit);
    const column = at < 0 ? 0 : at;
    return `\n${soql}\n${' '.repeat(column)}^\nERROR at Row:1:Column:${column + 1}\n${message}`;
}
