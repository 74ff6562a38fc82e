import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { BridgeError } from '../core/errors';
import type { LookupRules } from '../core/customer-lookup';

/**
 * The optional mapping file (BRIDGE_CONFIG_FILE, YAML or JSON) holds the non-secret settings an admin tunes:
 * CRM lookup rules, user-facing texts. Every section has defaults that work without the file.
 */
export interface BridgeSettings {
    lookup: LookupRules;
}

/** Salesforce API names: letters, digits and underscores, starting with a letter (custom ones end in __c). */
const API_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;
const FIELD_PATH = /^[A-Za-z][A-Za-z0-9_]{0,79}(\.[A-Za-z][A-Za-z0-9_]{0,79})?$/;

const apiName = z.string().regex(API_NAME, { error: 'is not a Salesforce API name' });
const fieldPath = z.string().regex(FIELD_PATH, { error: 'is not a Salesforce field name' });
const objectKind = z.enum(['Contact', 'PersonAccount', 'Lead']);

const identifierSchema = z.object({
    /** Where the identifier is in Haptik's integration request. */
    from: z
        .string()
        .regex(/^(user\.(auth_id|user_name|user_id)|user_details\.\w+|conversation_details\.\w+|entities\.\w+)$/, {
            error: 'must be user.auth_id, user_details.<key>, conversation_details.<key> or entities.<name>'
        }),
    match: z.enum(['email', 'phone', 'externalId', 'auto']),
    /** For externalId: the field to compare on each object, e.g. { Contact: Customer_Id__c }. */
    fields: z.partialRecord(objectKind, apiName).optional()
});

const lookupSchema = z
    .object({
        objects: z.array(objectKind).min(1).default(['Contact', 'PersonAccount', 'Lead']),
        personAccounts: z.enum(['auto', 'on', 'off']).default('auto'),
        identifiers: z.array(identifierSchema).min(1).optional(),
        defaultCountryCode: z
            .string()
            .regex(/^\d{1,3}$/)
            .default('1'),
        nationalLength: z.number().int().min(6).max(12).default(10),
        /** Extra user_details keys: key → field per object (e.g. loyalty_tier: { Contact: Tier__c }). */
        fields: z.record(z.string().regex(/^\w{1,40}$/), z.partialRecord(objectKind, fieldPath)).default({}),
        greeting: z.string().max(500).optional(),
        cacheTtlSeconds: z.number().int().min(0).max(86400).default(300),
        timeoutMs: z.number().int().min(100).max(25000).default(8000)
    })
    .default({
        objects: ['Contact', 'PersonAccount', 'Lead'],
        personAccounts: 'auto',
        defaultCountryCode: '1',
        nationalLength: 10,
        fields: {},
        cacheTtlSeconds: 300,
        timeoutMs: 8000
    });

const fileSchema = z.object({ lookup: lookupSchema }).loose();

/** Identifiers tried in order when the mapping file names none. */
export const DEFAULT_IDENTIFIERS: LookupRules['identifiers'] = [
    { from: 'user_details.email', match: 'email' },
    { from: 'entities.email', match: 'email' },
    { from: 'user_details.phone', match: 'phone' },
    { from: 'user_details.mobile_no', match: 'phone' },
    { from: 'entities.phone_number', match: 'phone' },
    { from: 'user.auth_id', match: 'auto' }
];

export function parseSettings(raw: unknown, source = 'the mapping file'): BridgeSettings {
    const parsed = fileSchema.safeParse(raw ?? {});
    if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`);
        throw new BridgeError(
            'bridge_config_mapping_invalid',
            `${source} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
            { details: { problems } }
        );
    }
    const lookup = parsed.data.lookup;
    return {
        lookup: {
            objects: lookup.objects,
            personAccounts: lookup.personAccounts,
            identifiers: (lookup.identifiers ?? DEFAULT_IDENTIFIERS).map((i) => ({
                from: i.from,
                match: i.match,
                ...(i.fields ? { fields: i.fields } : {})
            })),
            phone: { defaultCountryCode: lookup.defaultCountryCode, nationalLength: lookup.nationalLength },
            extraFields: lookup.fields,
            ...(lookup.greeting !== undefined ? { greeting: lookup.greeting } : {}),
            cacheTtlMs: lookup.cacheTtlSeconds * 1000,
            timeoutMs: lookup.timeoutMs
        }
    };
}

/** Reads BRIDGE_CONFIG_FILE (YAML is a superset of JSON); no file means every default. */
export function loadSettings(file: string | undefined): BridgeSettings {
    if (file === undefined) return parseSettings({});
    let text: string;
    try {
        text = readFileSync(file, 'utf8');
    } catch (error) {
        throw new BridgeError('bridge_config_mapping_unreadable', `BRIDGE_CONFIG_FILE ${file} cannot be read`, {
            cause: error
        });
    }
    let raw: unknown;
    try {
        raw = parseYaml(text);
    } catch (error) {
        throw new BridgeError('bridge_config_mapping_invalid', `BRIDGE_CONFIG_FILE ${file} is not valid YAML or JSON`, {
            cause: error
        });
    }
    return parseSettings(raw, `BRIDGE_CONFIG_FILE ${file}`);
}
