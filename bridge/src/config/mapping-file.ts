import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { BridgeError } from '../core/errors';
import { ownValue } from '../core/records';
import type { LookupRules } from '../core/customer-lookup';
import {
    BASE_CASE_TEMPLATE,
    DEFAULT_CASE_ORIGIN,
    DEFAULT_CASE_TEMPLATES,
    RESERVED_CASE_FIELDS
} from '../core/case-templates';
import type { CaseSettings, CaseTemplate } from '../core/case-templates';
import { compileRule, DEFAULT_REDACTION_RULES } from '../core/redaction';
import type { RedactionRule } from '../core/redaction';
import type { TranscriptSettings } from '../core/transcript';
import type { HandoverSettings } from '../core/handover/handover-settings';
import { handoverSectionSchema, handoverSettingsOf } from './handover-section';

/**
 * The optional mapping file (BRIDGE_CONFIG_FILE, YAML or JSON) holds the non-secret settings an admin tunes:
 * CRM lookup rules, case templates, transcript and redaction rules, user-facing texts. Every section has
 * defaults that work without the file.
 */
export interface BridgeSettings {
    lookup: LookupRules;
    cases: CaseSettings;
    transcript: TranscriptSettings;
    redaction: { rules: RedactionRule[] };
    messages: UserMessages;
    handover: HandoverSettings;
}

/** Texts the bot shows the user; `{case_number}` is filled in. */
export interface UserMessages {
    caseCreated: string;
    casePending: string;
    caseFailed: string;
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

/** A 15- or 18-character Salesforce record id (record type, queue or user). */
const recordId = z.string().regex(/^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$/, { error: 'is not a Salesforce record id' });
const caseFieldName = apiName;

const caseTemplateSchema = z
    .object({
        subject: z.string().max(2000).optional(),
        description: z.string().max(32000).optional(),
        origin: z.string().max(255).optional(),
        type: z.string().max(255).optional(),
        reason: z.string().max(255).optional(),
        priority: z.string().max(255).optional(),
        status: z.string().max(255).optional(),
        recordTypeId: recordId.optional(),
        ownerId: recordId.optional(),
        /** Run the org's Case assignment rules when this template's Case is created. */
        assignmentRules: z.boolean().optional(),
        suppliedName: z.string().max(500).optional(),
        suppliedEmail: z.string().max(500).optional(),
        suppliedPhone: z.string().max(500).optional(),
        suppliedCompany: z.string().max(500).optional(),
        /** Custom fields: API name → template. */
        fields: z.record(caseFieldName, z.string().max(32000)).optional(),
        /** Custom text fields' lengths, so long values are cut instead of rejected. */
        fieldLengths: z.record(caseFieldName, z.number().int().min(1).max(131072)).optional()
    })
    .superRefine((template, ctx) => {
        for (const name of Object.keys(template.fields ?? {})) {
            if (RESERVED_CASE_FIELDS.includes(name)) {
                ctx.addIssue({
                    code: 'custom',
                    path: ['fields', name],
                    message: 'is written by the bridge itself and cannot be mapped'
                });
            }
        }
    });

const casesSchema = z
    .object({
        /** Default Origin of every template that names none. */
        origin: z.string().max(255).default(DEFAULT_CASE_ORIGIN),
        templates: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,80}$/), caseTemplateSchema).default({}),
        awaitTimeoutMs: z.number().int().min(0).max(25000).default(10000),
        /** One deadline for a whole case-event request; Haptik stops waiting at 30 s. */
        requestDeadlineMs: z.number().int().min(1000).max(28000).default(25000)
    })
    .refine((cases) => cases.awaitTimeoutMs <= cases.requestDeadlineMs, {
        path: ['awaitTimeoutMs'],
        message: 'must not be longer than requestDeadlineMs'
    })
    .default({ origin: DEFAULT_CASE_ORIGIN, templates: {}, awaitTimeoutMs: 10000, requestDeadlineMs: 25000 });

const transcriptSchema = z
    .object({
        mode: z.enum(['all', 'handover', 'off']).default('all'),
        botName: z.string().min(1).max(80).default('Bot'),
        agentName: z.string().min(1).max(80).default('Agent'),
        userName: z.string().min(1).max(80).default('User'),
        subject: z.string().min(1).max(255).default('Chat with {name} on {channel}'),
        origin: z.string().max(255).default(DEFAULT_CASE_ORIGIN),
        status: z.string().max(255).optional(),
        duplicateWindowSeconds: z.number().int().min(0).max(3600).default(120)
    })
    .default({
        mode: 'all',
        botName: 'Bot',
        agentName: 'Agent',
        userName: 'User',
        subject: 'Chat with {name} on {channel}',
        origin: DEFAULT_CASE_ORIGIN,
        duplicateWindowSeconds: 120
    });

const redactionRuleSchema = z
    .object({
        name: z.string().regex(/^\w{1,40}$/),
        pattern: z.string().min(1).max(2000),
        flags: z
            .string()
            .regex(/^[imsu]*$/, { error: 'may only hold the flags i, m, s and u' })
            .optional(),
        replacement: z.string().max(200).default('[redacted]'),
        check: z.enum(['luhn', 'verhoeff']).optional()
    })
    .superRefine((rule, ctx) => {
        try {
            compileRule({ name: rule.name, pattern: rule.pattern, replacement: '', flags: rule.flags ?? '' });
        } catch {
            ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'is not a valid regular expression' });
        }
    });

const redactionSchema = z
    .object({
        /** Keep the built-in rules (cards, OTPs, Aadhaar, PAN, SSN) before the file's own. */
        defaults: z.boolean().default(true),
        rules: z.array(redactionRuleSchema).default([])
    })
    .default({ defaults: true, rules: [] });

const messagesSchema = z
    .object({
        caseCreated: z.string().min(1).max(1000).default('Your request {case_number} is logged'),
        casePending: z.string().min(1).max(1000).default('We have your request and will confirm its number shortly'),
        caseFailed: z
            .string()
            .min(1)
            .max(1000)
            .default('Sorry, we could not log your request right now. Please try again later.')
    })
    .default({
        caseCreated: 'Your request {case_number} is logged',
        casePending: 'We have your request and will confirm its number shortly',
        caseFailed: 'Sorry, we could not log your request right now. Please try again later.'
    });

const fileSchema = z
    .object({
        lookup: lookupSchema,
        cases: casesSchema,
        transcript: transcriptSchema,
        redaction: redactionSchema,
        messages: messagesSchema,
        handover: handoverSectionSchema
    })
    .loose();

type CaseTemplateInput = z.infer<typeof caseTemplateSchema>;

/** A file template over the default of the same name (or the base one): only what it names changes. */
function caseTemplateOf(name: string, input: CaseTemplateInput, origin: string): CaseTemplate {
    const base = { ...(ownValue(DEFAULT_CASE_TEMPLATES, name) ?? BASE_CASE_TEMPLATE), origin };
    const merged: CaseTemplate = {
        ...base,
        fields: { ...base.fields, ...input.fields },
        fieldLengths: { ...base.fieldLengths, ...input.fieldLengths }
    };
    const keys = [
        'subject',
        'description',
        'origin',
        'type',
        'reason',
        'priority',
        'status',
        'recordTypeId',
        'ownerId',
        'suppliedName',
        'suppliedEmail',
        'suppliedPhone',
        'suppliedCompany'
    ] as const;
    for (const key of keys) {
        const value = input[key];
        if (value !== undefined) merged[key] = value;
    }
    if (input.assignmentRules !== undefined) merged.assignmentRules = input.assignmentRules;
    return merged;
}

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
    const { lookup, cases, transcript, redaction, messages, handover } = parsed.data;
    // fromEntries defines own keys, so a template named `__proto__` is a template, not a prototype.
    const entries: Array<[string, CaseTemplate]> = [
        ...Object.entries(DEFAULT_CASE_TEMPLATES).map(([name, t]): [string, CaseTemplate] => [
            name,
            { ...t, origin: cases.origin }
        ]),
        ...Object.entries(cases.templates).map(([name, input]): [string, CaseTemplate] => [
            name,
            caseTemplateOf(name, input, cases.origin)
        ])
    ];
    const templates = Object.fromEntries(entries);
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
        },
        cases: { templates, awaitTimeoutMs: cases.awaitTimeoutMs, requestDeadlineMs: cases.requestDeadlineMs },
        transcript: {
            mode: transcript.mode,
            botName: transcript.botName,
            agentName: transcript.agentName,
            userName: transcript.userName,
            subject: transcript.subject,
            origin: transcript.origin,
            ...(transcript.status !== undefined ? { status: transcript.status } : {}),
            duplicateWindowMs: transcript.duplicateWindowSeconds * 1000
        },
        redaction: {
            rules: [
                ...(redaction.defaults ? DEFAULT_REDACTION_RULES : []),
                ...redaction.rules.map((rule) => ({
                    name: rule.name,
                    pattern: rule.pattern,
                    replacement: rule.replacement,
                    ...(rule.flags !== undefined ? { flags: rule.flags } : {}),
                    ...(rule.check !== undefined ? { check: rule.check } : {})
                }))
            ]
        },
        messages,
        handover: handoverSettingsOf(handover)
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
