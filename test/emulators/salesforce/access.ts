/**
 * What the org lets its integration user do, read from the package's own metadata: object permissions and
 * field-level security from permission set XML files, public group membership, and criteria-based sharing
 * rules. The emulator applies it to every REST call, as Salesforce does for a user on the profile
 * "Minimum Access - API Only Integrations" (which grants nothing itself).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import type { SfRecord } from './soql-engine';

export interface ObjectAccess {
    read: boolean;
    create: boolean;
    edit: boolean;
    delete: boolean;
    viewAll: boolean;
    modifyAll: boolean;
}

export interface FieldAccess {
    read: boolean;
    edit: boolean;
}

export interface SharingCriterion {
    field: string;
    operation: string;
    value: string;
}

export interface SharingRule {
    object: string;
    name: string;
    accessLevel: 'Read' | 'Edit';
    /** DeveloperName of the public group the rule shares with. */
    group: string | undefined;
    criteria: SharingCriterion[];
    booleanFilter: string | undefined;
}

export interface IntegrationUserAccess {
    /** Object permissions by object API name; an object not listed is not accessible. */
    objects: Record<string, ObjectAccess>;
    /** Field-level security by `Object.Field`. */
    fields: Record<string, FieldAccess>;
    /** Public groups (DeveloperName) the user belongs to. */
    groups: string[];
    sharingRules: SharingRule[];
    /** Org-wide default of Case (Setup › Sharing Settings); Private by default here, as most service orgs have it. */
    caseSharing: 'Private' | 'Read' | 'ReadWrite';
}

/**
 * Objects whose access comes from object permissions. Files (ContentVersion…) follow the user's file
 * permissions instead, which the emulator does not model.
 */
export const GOVERNED_OBJECTS = new Set([
    'Account',
    'Case',
    'Contact',
    'Lead',
    'MessagingSession',
    'LiveChatTranscript'
]);

/**
 * Fields without field-level security: with access to the object they are always readable (and, where the API
 * lets anyone write them, writable). System fields, name and required fields: Salesforce offers no FLS for them
 * and a permission set naming one fails to deploy ("You cannot deploy to a required field").
 */
const ALWAYS_ACCESSIBLE: Readonly<Record<string, readonly string[]>> = {
    '*': [
        'Id',
        'IsDeleted',
        'CreatedDate',
        'CreatedById',
        'LastModifiedDate',
        'LastModifiedById',
        'SystemModstamp',
        'OwnerId',
        'RecordTypeId'
    ],
    Case: ['CaseNumber', 'IsClosed', 'Status'],
    Contact: ['LastName', 'Name', 'IsPersonAccount'],
    Lead: ['LastName', 'Name', 'Company', 'Status', 'IsConverted'],
    Account: ['Name', 'IsPersonAccount', 'PersonContactId', 'LastName']
};

/** A person account's person fields take their field-level security from the Contact field they mirror. */
const PERSON_FIELDS: Readonly<Record<string, string>> = {
    FirstName: 'Contact.FirstName',
    Salutation: 'Contact.Salutation',
    PersonEmail: 'Contact.Email',
    PersonMobilePhone: 'Contact.MobilePhone',
    PersonHomePhone: 'Contact.HomePhone',
    PersonOtherPhone: 'Contact.OtherPhone'
};

const parser = new XMLParser({
    ignoreAttributes: true,
    parseTagValue: false,
    trimValues: true,
    isArray: (name) => ['fieldPermissions', 'objectPermissions', 'sharingCriteriaRules', 'criteriaItems'].includes(name)
});

type Node = Record<string, unknown>;
const nodes = (value: unknown): Node[] => (Array.isArray(value) ? (value as Node[]) : []);
const flag = (value: unknown): boolean => value === 'true';
const str = (value: unknown): string => (typeof value === 'string' ? value : '');

function walk(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? walk(path) : [path];
    });
}

/** The package's metadata files of one kind, in every package directory under `root`. */
export function shippedFiles(suffix: string, root = 'force-app'): string[] {
    return walk(root)
        .filter((file) => file.endsWith(suffix))
        .sort();
}

/**
 * The permission sets deploy-org.sh gives the integration user (with --messaging). With legacy Chat the bridge
 * writes no chat record (Salesforce links the transcript from the pre-chat Case entity), so it needs none there.
 */
export const INTEGRATION_PERMISSION_SETS = ['Haptik_Integration', 'Haptik_Integration_Messaging'];
export const INTEGRATION_GROUP = 'Haptik_Integration_Users';

/** Object and field access granted by permission set XML files (the union, as Salesforce adds them up). */
export function grantsOf(files: string[]): Pick<IntegrationUserAccess, 'objects' | 'fields'> {
    const objects: Record<string, ObjectAccess> = {};
    const fields: Record<string, FieldAccess> = {};
    for (const file of files) {
        const doc = (parser.parse(readFileSync(file, 'utf8')) as Node).PermissionSet as Node;
        for (const p of nodes(doc.objectPermissions)) {
            const name = str(p.object);
            const was = objects[name];
            objects[name] = {
                read: flag(p.allowRead) || (was?.read ?? false),
                create: flag(p.allowCreate) || (was?.create ?? false),
                edit: flag(p.allowEdit) || (was?.edit ?? false),
                delete: flag(p.allowDelete) || (was?.delete ?? false),
                viewAll: flag(p.viewAllRecords) || (was?.viewAll ?? false),
                modifyAll: flag(p.modifyAllRecords) || (was?.modifyAll ?? false)
            };
        }
        for (const p of nodes(doc.fieldPermissions)) {
            const name = str(p.field);
            const was = fields[name];
            fields[name] = {
                read: flag(p.readable) || (was?.read ?? false),
                edit: flag(p.editable) || (was?.edit ?? false)
            };
        }
    }
    return { objects, fields };
}

/** Criteria-based sharing rules from `<Object>.sharingRules-meta.xml` files. */
export function sharingRulesOf(files: string[]): SharingRule[] {
    return files.flatMap((file) => {
        const object = basename(file, '.sharingRules-meta.xml');
        const doc = (parser.parse(readFileSync(file, 'utf8')) as Node).SharingRules as Node;
        return nodes(doc.sharingCriteriaRules).map((rule): SharingRule => ({
            object,
            name: str(rule.fullName),
            accessLevel: str(rule.accessLevel) === 'Edit' ? 'Edit' : 'Read',
            group: str((rule.sharedTo as Node | undefined)?.group) || undefined,
            criteria: nodes(rule.criteriaItems).map((c) => ({
                field: str(c.field),
                operation: str(c.operation),
                value: str(c.value)
            })),
            booleanFilter: str(rule.booleanFilter) || undefined
        }));
    });
}

/**
 * The integration user of a correctly set-up org: the shipped permission sets (`sets`, by name), member of the
 * shipped group, the shipped sharing rules, Private Case sharing. `without` removes single grants (`Case.Subject`,
 * or an object name) to show what breaks.
 */
export function shippedIntegrationUser(
    options: {
        sets?: string[];
        without?: string[];
        /** Read access an admin adds for the org's own fields the mapping file names (`Contact.Loyalty_Tier__c`). */
        readFields?: string[];
        groups?: string[];
        caseSharing?: IntegrationUserAccess['caseSharing'];
    } = {}
): IntegrationUserAccess {
    const sets = options.sets ?? INTEGRATION_PERMISSION_SETS;
    const files = shippedFiles('.permissionset-meta.xml').filter((file) =>
        sets.includes(basename(file, '.permissionset-meta.xml'))
    );
    const { objects, fields } = grantsOf(files);
    for (const field of options.readFields ?? []) fields[field] = { read: true, edit: fields[field]?.edit ?? false };
    for (const grant of options.without ?? []) {
        delete objects[grant];
        delete fields[grant];
    }
    return {
        objects,
        fields,
        groups: options.groups ?? [INTEGRATION_GROUP],
        sharingRules: sharingRulesOf(shippedFiles('.sharingRules-meta.xml')),
        caseSharing: options.caseSharing ?? 'Private'
    };
}

/** The FLS key of a field: a person account's person fields are governed by their Contact field. */
function flsKey(type: string, field: string): string {
    return type === 'Account' && PERSON_FIELDS[field] !== undefined ? PERSON_FIELDS[field] : `${type}.${field}`;
}

/** Applies one user's access; `undefined` access means an administrator (everything allowed). */
export class AccessPolicy {
    /** Grants the user's calls relied on so far: `Object.Field` (read / edit) and objects (read / create / edit). */
    readonly used = {
        fields: new Map<string, FieldAccess>(),
        objects: new Map<string, Pick<ObjectAccess, 'read' | 'create' | 'edit'>>()
    };

    constructor(
        private readonly access: IntegrationUserAccess | undefined,
        private readonly userId: string
    ) {}

    /** Notes that a call relied on field-level security for this field (fields without FLS are not noted). */
    noteField(type: string, field: string, how: 'read' | 'edit'): void {
        if (this.access === undefined || !GOVERNED_OBJECTS.has(type) || this.always(type, field)) return;
        const key = flsKey(type, field);
        const was = this.used.fields.get(key) ?? { read: false, edit: false };
        this.used.fields.set(key, { read: true, edit: was.edit || how === 'edit' });
    }

    noteObject(type: string, how: 'read' | 'create' | 'edit'): void {
        if (this.access === undefined || !GOVERNED_OBJECTS.has(type)) return;
        const was = this.used.objects.get(type) ?? { read: false, create: false, edit: false };
        this.used.objects.set(type, { ...was, read: true, [how]: true });
    }

    get enforced(): boolean {
        return this.access !== undefined;
    }

    object(type: string): ObjectAccess {
        const all: ObjectAccess = {
            read: true,
            create: true,
            edit: true,
            delete: true,
            viewAll: true,
            modifyAll: true
        };
        if (this.access === undefined || !GOVERNED_OBJECTS.has(type)) return all;
        return (
            this.access.objects[type] ?? {
                read: false,
                create: false,
                edit: false,
                delete: false,
                viewAll: false,
                modifyAll: false
            }
        );
    }

    private always(type: string, field: string): boolean {
        return (ALWAYS_ACCESSIBLE['*'] ?? []).includes(field) || (ALWAYS_ACCESSIBLE[type] ?? []).includes(field);
    }

    /** Field-level security; fields of objects outside object permissions are open. */
    field(type: string, field: string): FieldAccess {
        if (this.access === undefined || !GOVERNED_OBJECTS.has(type) || this.always(type, field)) {
            return { read: true, edit: true };
        }
        return this.access.fields[flsKey(type, field)] ?? { read: false, edit: false };
    }

    /** 'none', 'read' or 'edit': what the user may do to one stored record (owner, org-wide default, sharing rules). */
    recordAccess(type: string, record: SfRecord): 'none' | 'read' | 'edit' {
        const objectAccess = this.object(type);
        if (!objectAccess.read) return 'none';
        if (this.access === undefined || type !== 'Case') return objectAccess.edit ? 'edit' : 'read';
        if (objectAccess.modifyAll) return 'edit';
        const canEdit = objectAccess.edit;
        if (record.OwnerId === this.userId || this.access.caseSharing === 'ReadWrite') return canEdit ? 'edit' : 'read';
        let level: 'none' | 'read' | 'edit' =
            this.access.caseSharing === 'Read' || objectAccess.viewAll ? 'read' : 'none';
        for (const rule of this.access.sharingRules) {
            if (rule.object !== type || rule.group === undefined || !this.access.groups.includes(rule.group)) continue;
            if (!matches(rule, record)) continue;
            if (rule.accessLevel === 'Edit' && canEdit) return 'edit';
            level = 'read';
        }
        return level;
    }
}

/** A criteria-based sharing rule's filter over a record (equals / notEqual, blank meaning empty). */
function matches(rule: SharingRule, record: SfRecord): boolean {
    const results = rule.criteria.map((c) => {
        const raw = record[c.field];
        const value = typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : '';
        const wanted = c.value.split(',').map((v) => v.trim().toLowerCase());
        switch (c.operation) {
            case 'equals':
                return wanted.includes(value.toLowerCase());
            case 'notEqual':
                return !wanted.includes(value.toLowerCase());
            default:
                throw new Error(`the emulator does not evaluate sharing rule operation ${c.operation}`);
        }
    });
    if (rule.booleanFilter === undefined) return results.every(Boolean);
    return evaluateFilter(rule.booleanFilter, results);
}

/** Evaluates a filter expression such as `(1 OR 2) AND NOT 3` over numbered results. */
function evaluateFilter(filter: string, results: boolean[]): boolean {
    const tokens = filter.match(/\d+|\(|\)|AND|OR|NOT/gi) ?? [];
    let pos = 0;
    const next = (): string => (tokens[pos++] ?? '').toUpperCase();
    const peek = (): string => (tokens[pos] ?? '').toUpperCase();
    const or = (): boolean => {
        let value = and();
        while (peek() === 'OR') {
            next();
            value = and() || value;
        }
        return value;
    };
    const and = (): boolean => {
        let value = unary();
        while (peek() === 'AND') {
            next();
            value = unary() && value;
        }
        return value;
    };
    const unary = (): boolean => {
        const token = next();
        if (token === 'NOT') return !unary();
        if (token === '(') {
            const value = or();
            next();
            return value;
        }
        return results[Number(token) - 1] === true;
    };
    return or();
}
