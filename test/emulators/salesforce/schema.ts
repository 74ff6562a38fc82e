/**
 * What the Salesforce emulator knows about sObjects: key prefixes, a small field list per object
 * (enough to answer INVALID_FIELD like a real org), read-only fields, text lengths, required fields,
 * and Salesforce-shaped record ids.
 */

/** Key prefixes of the objects the bridge touches (first three characters of every record id). */
export const KEY_PREFIXES: Readonly<Record<string, string>> = {
    Account: '001',
    Contact: '003',
    User: '005',
    Lead: '00Q',
    Case: '500',
    CaseComment: '00a',
    ContentVersion: '068',
    ContentDocument: '069',
    ContentDocumentLink: '06A',
    MessagingSession: '0Mw',
    MessagingEndUser: '0PA',
    LiveChatTranscript: '570',
    Task: '00T'
};

const SYSTEM_FIELDS = [
    'Id',
    'IsDeleted',
    'CreatedDate',
    'CreatedById',
    'LastModifiedDate',
    'LastModifiedById',
    'SystemModstamp',
    'OwnerId'
];

/** The contract §4 custom fields on Case. */
export const HAPTIK_CASE_FIELDS = [
    'Haptik_Conversation_Key__c',
    'Haptik_Event_Key__c',
    'Haptik_User_Id__c',
    'Haptik_Channel__c',
    'Haptik_Bot_Context__c',
    'Haptik_Transcript__c'
];

/** Field lists for objects where unknown fields are rejected; other known objects accept any field. */
export const OBJECT_FIELDS: Readonly<Record<string, readonly string[]>> = {
    Case: [
        ...SYSTEM_FIELDS,
        'CaseNumber',
        'Subject',
        'Description',
        'Status',
        'Priority',
        'Origin',
        'Type',
        'Reason',
        'ContactId',
        'AccountId',
        'ParentId',
        'SuppliedName',
        'SuppliedEmail',
        'SuppliedPhone',
        'SuppliedCompany',
        'ContactEmail',
        'ContactPhone',
        'ContactMobile',
        'IsClosed',
        'ClosedDate',
        'IsEscalated',
        'Comments',
        ...HAPTIK_CASE_FIELDS
    ],
    Contact: [
        ...SYSTEM_FIELDS,
        'FirstName',
        'LastName',
        'Name',
        'Salutation',
        'Email',
        'Phone',
        'MobilePhone',
        'HomePhone',
        'OtherPhone',
        'AccountId',
        'Title',
        'Department',
        'LeadSource',
        'Description',
        'MailingCity',
        'MailingCountry'
    ],
    Account: [
        ...SYSTEM_FIELDS,
        'Name',
        'AccountNumber',
        'Phone',
        'Website',
        'Type',
        'Industry',
        'Description',
        'BillingCity',
        'BillingCountry',
        'ParentId'
    ],
    Lead: [
        ...SYSTEM_FIELDS,
        'FirstName',
        'LastName',
        'Name',
        'Salutation',
        'Company',
        'Email',
        'Phone',
        'MobilePhone',
        'Status',
        'IsConverted',
        'LeadSource',
        'Title',
        'Description'
    ]
};

/**
 * Fields that exist only in orgs with Person Accounts enabled (Account field reference): without them a query
 * naming IsPersonAccount fails with INVALID_FIELD, which is how clients detect the feature.
 */
export const PERSON_ACCOUNT_FIELDS: Readonly<Record<string, readonly string[]>> = {
    Account: [
        'IsPersonAccount',
        'FirstName',
        'LastName',
        'Salutation',
        'PersonEmail',
        'PersonMobilePhone',
        'PersonHomePhone',
        'PersonOtherPhone',
        'PersonContactId'
    ],
    Contact: ['IsPersonAccount']
};

/** Fields the API computes; writing them is INVALID_FIELD_FOR_INSERT_UPDATE. */
export const READ_ONLY_FIELDS: Readonly<Record<string, readonly string[]>> = {
    Case: ['CaseNumber', 'IsClosed', 'ClosedDate', 'ContactEmail', 'ContactPhone', 'ContactMobile'],
    Contact: ['Name', 'IsPersonAccount'],
    Lead: ['Name', 'IsConverted'],
    Account: ['IsPersonAccount', 'PersonContactId']
};
const SYSTEM_READ_ONLY = SYSTEM_FIELDS.filter((f) => f !== 'OwnerId' && f !== 'Id');

/** Fields an org always requires on insert. */
export const DEFAULT_REQUIRED_FIELDS: Readonly<Record<string, readonly string[]>> = {
    Contact: ['LastName'],
    Lead: ['LastName', 'Company'],
    Account: ['Name']
};

/** Text field lengths (STRING_TOO_LONG beyond them). */
export const FIELD_LENGTHS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
    Case: {
        Subject: 255,
        Description: 32000,
        Comments: 4000,
        SuppliedName: 80,
        SuppliedEmail: 80,
        SuppliedPhone: 40,
        Haptik_Conversation_Key__c: 255,
        Haptik_Event_Key__c: 255,
        Haptik_User_Id__c: 255,
        Haptik_Bot_Context__c: 131072,
        Haptik_Transcript__c: 131072
    },
    Contact: { FirstName: 40, LastName: 80, Email: 80, Phone: 40, MobilePhone: 40 },
    Lead: { FirstName: 40, LastName: 80, Company: 255, Email: 80, Phone: 40, MobilePhone: 40 },
    Account: { Name: 255, Phone: 40 },
    CaseComment: { CommentBody: 4000 },
    LiveChatTranscript: { Body: 131072 }
};

/** External-id fields upserts may use unless the emulator is told otherwise. */
export const DEFAULT_EXTERNAL_ID_FIELDS: Readonly<Record<string, readonly string[]>> = {
    Case: ['Haptik_Conversation_Key__c', 'Haptik_Event_Key__c']
};

export const SYSTEM_FIELD_NAMES: readonly string[] = SYSTEM_FIELDS;

const PICKLISTS = new Set(['Status', 'Priority', 'Origin', 'Type', 'Reason', 'Industry', 'LeadSource', 'Salutation']);
const TEXT_AREAS = new Set(['Description', 'Comments', 'Haptik_Bot_Context__c', 'Haptik_Transcript__c', 'Body']);

/** The describe `type` of a field, from its name: enough for clients that branch on it. */
export function fieldTypeOf(field: string): string {
    if (field === 'Id') return 'id';
    if (field.endsWith('Date') || field === 'SystemModstamp') return 'datetime';
    if (/^Is[A-Z]/.test(field)) return 'boolean';
    if (field.endsWith('Id') && !field.endsWith('__c')) return 'reference';
    if (PICKLISTS.has(field) || field === 'Haptik_Channel__c') return 'picklist';
    if (TEXT_AREAS.has(field)) return 'textarea';
    if (field.endsWith('Email')) return 'email';
    if (field.endsWith('Phone')) return 'phone';
    return 'string';
}

export function isReadOnly(type: string, field: string): boolean {
    return (READ_ONLY_FIELDS[type] ?? []).includes(field) || SYSTEM_READ_ONLY.includes(field);
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SUFFIX_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/** Salesforce's 3-character case-safe suffix that turns a 15-character id into 18. */
export function idSuffix(id15: string): string {
    let suffix = '';
    for (let chunk = 0; chunk < 3; chunk++) {
        let bits = 0;
        for (let i = 0; i < 5; i++) {
            const c = id15.charAt(chunk * 5 + i);
            if (c >= 'A' && c <= 'Z') bits |= 1 << i;
        }
        suffix += SUFFIX_CHARS.charAt(bits);
    }
    return suffix;
}

/** An 18-character id: prefix, a fixed pod part, a base-62 counter, then the checksum suffix. */
export function makeId(prefix: string, counter: number): string {
    let n = counter;
    let digits = '';
    while (digits.length < 7) {
        digits = BASE62.charAt(n % 62) + digits;
        n = Math.floor(n / 62);
    }
    const id15 = `${prefix}Hp000${digits}`;
    return id15 + idSuffix(id15);
}

/** Normalises a 15- or 18-character id to 18 characters, or undefined when it is not an id. */
export function toId18(value: string): string | undefined {
    if (/^[a-zA-Z0-9]{18}$/.test(value)) return value.slice(0, 15) + idSuffix(value.slice(0, 15));
    if (/^[a-zA-Z0-9]{15}$/.test(value)) return value + idSuffix(value);
    return undefined;
}

/** Salesforce's datetime format in REST answers, e.g. 2026-01-02T03:04:05.000+0000. */
export function sfDateTime(date: Date): string {
    return date.toISOString().replace('Z', '+0000');
}
