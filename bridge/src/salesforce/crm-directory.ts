import type { CrmDirectory, CrmObject, CrmRecord, Identifier, LookupRules } from '../core/customer-lookup';
import { isBridgeError } from '../core/errors';
import type { SalesforceClient } from './salesforce-client';
import { assertApiName, soqlString } from './soql';
import { escapeSoslTerm } from './sosl';

/**
 * The CRM lookup's searches in Salesforce. Emails: exact SOQL equality (case-insensitive in Salesforce, and
 * indexed, so it sees records the moment they are saved). Phones: SOSL IN PHONE FIELDS, because Salesforce
 * stores phones as typed; the core then compares normalised digits. External ids: exact SOQL equality.
 * Every value goes through the escapers; object and field names come only from the validated mapping file.
 */
type Row = Record<string, unknown> & { attributes?: { type?: string } };

interface ObjectShape {
    sobject: 'Contact' | 'Account' | 'Lead';
    fields: string[];
    emailField: string;
    phoneFields: string[];
    /** Always-on filter: unconverted leads, person accounts only, business contacts only. */
    filter: (personAccounts: boolean) => string | undefined;
    toRecord: (row: Row) => Pick<CrmRecord, 'firstName' | 'name' | 'email' | 'phones' | 'accountName'>;
}

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
const phones = (row: Row, fields: string[]): string[] =>
    fields.map((f) => text(row[f])).filter((p): p is string => p !== null);

const SHAPES: Record<CrmObject, ObjectShape> = {
    Contact: {
        sobject: 'Contact',
        fields: ['Id', 'FirstName', 'Name', 'Email', 'Phone', 'MobilePhone', 'Account.Name', 'LastModifiedDate'],
        emailField: 'Email',
        phoneFields: ['Phone', 'MobilePhone'],
        filter: (personAccounts) => (personAccounts ? 'IsPersonAccount = false' : undefined),
        toRecord: (row) => ({
            firstName: text(row['FirstName']),
            name: text(row['Name']),
            email: text(row['Email']),
            phones: phones(row, ['MobilePhone', 'Phone']),
            accountName: text((row['Account'] as Row | null | undefined)?.['Name'])
        })
    },
    PersonAccount: {
        sobject: 'Account',
        fields: ['Id', 'FirstName', 'Name', 'PersonEmail', 'Phone', 'PersonMobilePhone', 'LastModifiedDate'],
        emailField: 'PersonEmail',
        phoneFields: ['Phone', 'PersonMobilePhone'],
        filter: () => 'IsPersonAccount = true',
        toRecord: (row) => ({
            firstName: text(row['FirstName']),
            name: text(row['Name']),
            email: text(row['PersonEmail']),
            phones: phones(row, ['PersonMobilePhone', 'Phone']),
            accountName: text(row['Name'])
        })
    },
    Lead: {
        sobject: 'Lead',
        fields: ['Id', 'FirstName', 'Name', 'Email', 'Phone', 'MobilePhone', 'Company', 'LastModifiedDate'],
        emailField: 'Email',
        phoneFields: ['Phone', 'MobilePhone'],
        filter: () => 'IsConverted = false',
        toRecord: (row) => ({
            firstName: text(row['FirstName']),
            name: text(row['Name']),
            email: text(row['Email']),
            phones: phones(row, ['MobilePhone', 'Phone']),
            accountName: text(row['Company'])
        })
    }
};

const MAX_ROWS = 20;

function valueAtPath(row: Row, path: string): unknown {
    return path.split('.').reduce<unknown>((value, part) => (value as Row | null | undefined)?.[part], row);
}

export function createCrmDirectory(
    client: SalesforceClient,
    options: { personAccounts: LookupRules['personAccounts'] }
): CrmDirectory {
    let personAccountsEnabled: Promise<boolean> | undefined;

    /** Whether the org has person accounts: asked once, by whether Account knows IsPersonAccount. */
    function hasPersonAccounts(): Promise<boolean> {
        if (options.personAccounts !== 'auto') return Promise.resolve(options.personAccounts === 'on');
        personAccountsEnabled ??= client
            .query('SELECT Id FROM Account WHERE IsPersonAccount = true LIMIT 1')
            .then(() => true)
            .catch((error: unknown) => {
                if (isBridgeError(error) && error.details['sfErrorCode'] === 'INVALID_FIELD') return false;
                personAccountsEnabled = undefined;
                throw error;
            });
        return personAccountsEnabled;
    }

    function selectList(object: CrmObject, extraFields: LookupRules['extraFields']): string[] {
        const extras = Object.values(extraFields)
            .map((byObject) => byObject[object])
            .filter((f): f is string => f !== undefined);
        return [...new Set([...SHAPES[object].fields, ...extras])];
    }

    /** The SOSL RETURNING clause depends only on the rules, so it is built once per rule set, not per search. */
    const returningClauses = new WeakMap<LookupRules['extraFields'], Map<string, string>>();
    function returningClause(
        objects: CrmObject[],
        personAccounts: boolean,
        extraFields: LookupRules['extraFields']
    ): string {
        let byShape = returningClauses.get(extraFields);
        if (byShape === undefined) returningClauses.set(extraFields, (byShape = new Map<string, string>()));
        const key = `${personAccounts}:${objects.join(',')}`;
        let clause = byShape.get(key);
        if (clause === undefined) {
            clause = objects
                .map((object) => {
                    const shape = SHAPES[object];
                    const filter = shape.filter(personAccounts);
                    return `${shape.sobject}(${selectList(object, extraFields).join(', ')}${filter ? ` WHERE ${filter}` : ''} LIMIT ${MAX_ROWS})`;
                })
                .join(', ');
            byShape.set(key, clause);
        }
        return clause;
    }

    function toRecord(object: CrmObject, row: Row, extraFields: LookupRules['extraFields']): CrmRecord {
        const extra: Record<string, unknown> = {};
        for (const [key, byObject] of Object.entries(extraFields)) {
            const field = byObject[object];
            if (field !== undefined) extra[key] = valueAtPath(row, field) ?? null;
        }
        return {
            object,
            sobject: SHAPES[object].sobject,
            id: String(row['Id']),
            lastModified: text(row['LastModifiedDate']) ?? '',
            extra,
            ...SHAPES[object].toRecord(row)
        };
    }

    async function activeObjects(objects: CrmObject[]): Promise<{ objects: CrmObject[]; personAccounts: boolean }> {
        const personAccounts = objects.includes('PersonAccount') ? await hasPersonAccounts() : false;
        return { objects: objects.filter((o) => o !== 'PersonAccount' || personAccounts), personAccounts };
    }

    async function soqlEach(
        objects: CrmObject[],
        personAccounts: boolean,
        extraFields: LookupRules['extraFields'],
        condition: (object: CrmObject) => string | undefined
    ): Promise<CrmRecord[]> {
        const results = await Promise.all(
            objects.map(async (object) => {
                const where = condition(object);
                if (where === undefined) return [];
                const shape = SHAPES[object];
                const filters = [shape.filter(personAccounts), where].filter((f): f is string => f !== undefined);
                const soql =
                    `SELECT ${selectList(object, extraFields).join(', ')} FROM ${shape.sobject} ` +
                    `WHERE ${filters.join(' AND ')} ORDER BY LastModifiedDate DESC LIMIT ${MAX_ROWS}`;
                const rows = await client.query<Row>(soql);
                return rows.map((row) => toRecord(object, row, extraFields));
            })
        );
        return results.flat();
    }

    async function soslPhones(
        identifier: Identifier,
        objects: CrmObject[],
        personAccounts: boolean,
        extraFields: LookupRules['extraFields']
    ): Promise<CrmRecord[]> {
        const sosl = `FIND {${escapeSoslTerm(identifier.searchTerm)}} IN PHONE FIELDS RETURNING ${returningClause(objects, personAccounts, extraFields)}`;
        const rows = await client.search<Row>(sosl);
        return rows.flatMap((row) => {
            const type = row.attributes?.type;
            // Contact and person-account rows come back by sobject; map them to the rule's object.
            const object = objects.find((o) => SHAPES[o].sobject === type);
            return object ? [toRecord(object, row, extraFields)] : [];
        });
    }

    return {
        async find(identifier, objects, extraFields) {
            const active = await activeObjects(objects);
            switch (identifier.kind) {
                case 'email':
                    return soqlEach(active.objects, active.personAccounts, extraFields, (object) => {
                        return `${SHAPES[object].emailField} = ${soqlString(identifier.searchTerm)}`;
                    });
                case 'externalId':
                    return soqlEach(active.objects, active.personAccounts, extraFields, (object) => {
                        const field = identifier.fields?.[object];
                        return field === undefined
                            ? undefined
                            : `${assertApiName(field)} = ${soqlString(identifier.searchTerm)}`;
                    });
                case 'phone':
                    return soslPhones(identifier, active.objects, active.personAccounts, extraFields);
            }
        }
    };
}
