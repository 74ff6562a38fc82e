// Offline checks of the Salesforce metadata we ship. `sf project convert source` accepts broken XML,
// unknown elements and wrong names without a word, and there is no org to deploy to in CI, so this
// catches what a deploy would reject (and the contract §4 field rules a deploy would not).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export const METADATA_NAMESPACE = 'http://soap.sforce.com/2006/04/metadata';

export interface MetadataProblem {
    file: string;
    message: string;
}

export interface ValidateOptions {
    /** `sourceApiVersion` of sfdx-project.json; every component bundle must use it. */
    apiVersion?: string;
    /**
     * The package directory every org gets (sfdx-project.json's default): its metadata must not name an object or
     * field that only orgs with Messaging, legacy Chat or person accounts have.
     */
    defaultPackageDir?: string;
}

type Element = Record<string, unknown>;

interface MetadataKind {
    suffix: string;
    root: string;
    required: string[];
}

const KINDS: MetadataKind[] = [
    { suffix: '.field-meta.xml', root: 'CustomField', required: ['fullName', 'label', 'type'] },
    { suffix: '.listView-meta.xml', root: 'ListView', required: ['fullName', 'label', 'filterScope'] },
    { suffix: '.permissionset-meta.xml', root: 'PermissionSet', required: ['label'] },
    { suffix: '.js-meta.xml', root: 'LightningComponentBundle', required: ['apiVersion', 'isExposed'] },
    { suffix: '.flexipage-meta.xml', root: 'FlexiPage', required: ['masterLabel', 'type'] },
    { suffix: '.group-meta.xml', root: 'Group', required: ['name'] },
    { suffix: '.sharingRules-meta.xml', root: 'SharingRules', required: [] },
    { suffix: '.object-meta.xml', root: 'CustomObject', required: [] }
];

/** Contract §4: the Case fields the bridge writes. */
interface FieldRule {
    type: string;
    length?: string;
    externalId?: boolean;
    unique?: boolean;
    picklist?: string[];
    visibleLines?: boolean;
}

export const CASE_FIELD_RULES: Record<string, FieldRule> = {
    Haptik_Conversation_Key__c: { type: 'Text', length: '255', externalId: true, unique: true },
    Haptik_Event_Key__c: { type: 'Text', length: '255', externalId: true, unique: true },
    // An External ID is indexed, so finding every Case of one chatbot user stays fast; it is not unique.
    Haptik_User_Id__c: { type: 'Text', length: '255', externalId: true, unique: false },
    Haptik_Channel__c: { type: 'Picklist', picklist: ['Web', 'Android', 'iOS', 'WhatsApp', 'Facebook', 'Other'] },
    Haptik_Bot_Context__c: { type: 'LongTextArea', length: '131072', visibleLines: true },
    Haptik_Transcript__c: { type: 'LongTextArea', length: '131072', visibleLines: true }
};

export const PERMISSION_SETS = [
    'Haptik_Integration',
    'Haptik_Agent',
    'Haptik_Integration_Messaging',
    'Haptik_Agent_Messaging',
    'Haptik_Agent_Legacy_Chat'
];

/** Objects and fields only some Service Cloud orgs have (Messaging, legacy Chat, person accounts). */
export const OPTIONAL_OBJECT_PATTERN = /\b(MessagingSession|LiveChatTranscript|IsPersonAccount|Person[A-Z]\w*)\b/;

// Repeated elements always come back as arrays, whatever their count in a file.
const ARRAY_ELEMENTS = new Set([
    'fieldPermissions',
    'objectPermissions',
    'userPermissions',
    'value',
    'columns',
    'filters',
    'target',
    'targetConfig',
    'sharingCriteriaRules',
    'sharingOwnerRules',
    'criteriaItems'
]);

const parser = new XMLParser({
    ignoreAttributes: false,
    parseTagValue: false,
    trimValues: true,
    isArray: (name) => ARRAY_ELEMENTS.has(name)
});

// Folders .forceignore keeps out of a deploy.
const SKIPPED_DIRS = new Set(['__tests__', 'jest-mocks', 'node_modules']);

function walk(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) {
            return SKIPPED_DIRS.has(name) ? [] : walk(path);
        }
        return [path];
    });
}

function asElement(value: unknown): Element {
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Element) : {};
}

function asArray(value: unknown): Element[] {
    return Array.isArray(value) ? value.map(asElement) : [];
}

function text(value: unknown): string | undefined {
    if (typeof value === 'string') {
        return value;
    }
    return typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}

interface ParsedFile {
    file: string;
    kind: MetadataKind;
    doc: Element;
}

/**
 * Validates one folder, or several package directories together (the contract and permission checks look at
 * all of them at once, as a deploy of every package directory would).
 */
export function validateMetadata(roots: string | string[], options: ValidateOptions = {}): MetadataProblem[] {
    const problems: MetadataProblem[] = [];
    const report = (file: string, message: string): void => {
        problems.push({ file: relative(process.cwd(), file) || file, message });
    };
    const dirs = typeof roots === 'string' ? [roots] : roots;
    const packageDir = dirs[0] ?? '.';
    const files = dirs.flatMap(walk);
    const parsed: ParsedFile[] = [];

    for (const file of files.filter((f) => f.endsWith('-meta.xml'))) {
        const kind = KINDS.find((k) => file.endsWith(k.suffix));
        if (kind === undefined) {
            report(file, 'not a metadata type this package ships (unknown file suffix)');
            continue;
        }
        const xml = readFileSync(file, 'utf8');
        const valid = XMLValidator.validate(xml);
        if (valid !== true) {
            report(file, `not well-formed XML at ${valid.err.line}:${valid.err.col}: ${valid.err.msg}`);
            continue;
        }
        const tree = asElement(parser.parse(xml));
        const rootName = Object.keys(tree).find((key) => key !== '?xml');
        if (rootName !== kind.root) {
            report(file, `root element is <${rootName ?? 'none'}>, expected <${kind.root}>`);
            continue;
        }
        const doc = asElement(tree[rootName]);
        if (doc['@_xmlns'] !== METADATA_NAMESPACE) {
            report(file, `<${kind.root}> lacks xmlns="${METADATA_NAMESPACE}"`);
        }
        for (const element of kind.required) {
            if (text(doc[element]) === undefined || text(doc[element]) === '') {
                report(file, `<${kind.root}> lacks <${element}>`);
            }
        }
        const name = basename(file, kind.suffix);
        const fullName = text(doc.fullName);
        if (fullName !== undefined && fullName !== name) {
            report(file, `fullName "${fullName}" does not match the file name "${name}"`);
        }
        parsed.push({ file, kind, doc });
        checkLimits({ file, kind, doc }, report);
        if (options.defaultPackageDir !== undefined && isInside(file, options.defaultPackageDir)) {
            const hit = OPTIONAL_OBJECT_PATTERN.exec(xml);
            if (hit) {
                report(
                    file,
                    `names ${hit[1]}, which only some orgs have: move it to its own package directory (force-app/messaging, force-app/legacy-chat)`
                );
            }
        }
    }

    checkCaseFields(
        join(options.defaultPackageDir ?? join(packageDir, 'main'), 'default/objects/Case/fields'),
        parsed,
        report
    );
    checkPermissionSets(parsed, report);
    checkBundles(files, parsed, options, report);
    checkSharing(parsed, report);
    return problems;
}

function isInside(file: string, dir: string): boolean {
    const rel = relative(dir, file);
    return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep);
}

type Report = (file: string, message: string) => void;

function objectOf(file: string): string {
    // objects/<Object>/fields/<Field>.field-meta.xml
    return basename(dirname(dirname(file)));
}

function checkCaseFields(fieldsDir: string, parsed: ParsedFile[], report: Report): void {
    const caseFields = new Map(
        parsed
            .filter((p) => p.kind.root === 'CustomField' && objectOf(p.file) === 'Case')
            .map((p) => [basename(p.file, p.kind.suffix), p] as const)
    );
    for (const p of parsed.filter((p) => p.kind.root === 'CustomField')) {
        if (basename(dirname(p.file)) !== 'fields') {
            report(p.file, 'a field file must live in objects/<Object>/fields/');
        }
    }
    for (const [fieldName, rule] of Object.entries(CASE_FIELD_RULES)) {
        const field = caseFields.get(fieldName);
        if (field === undefined) {
            report(join(fieldsDir, `${fieldName}.field-meta.xml`), 'missing (contract §4)');
            continue;
        }
        const { doc, file } = field;
        const expect = (element: string, wanted: string): void => {
            const actual = text(doc[element]);
            if (actual !== wanted) {
                report(file, `<${element}> is ${actual ?? 'missing'}, contract §4 wants ${wanted}`);
            }
        };
        expect('type', rule.type);
        if (rule.length !== undefined) {
            expect('length', rule.length);
        }
        expect('externalId', String(rule.externalId ?? false));
        if (rule.unique !== undefined) {
            expect('unique', String(rule.unique));
        }
        if (rule.visibleLines && !/^[1-9]\d*$/.test(text(doc.visibleLines) ?? '')) {
            report(file, '<visibleLines> must be a positive number for a long text area');
        }
        if (rule.picklist !== undefined) {
            const values = asArray(asElement(asElement(doc.valueSet).valueSetDefinition).value).map((v) =>
                text(v.fullName)
            );
            if (values.join(',') !== rule.picklist.join(',')) {
                report(
                    file,
                    `picklist values are [${values.join(', ')}], contract §4 wants [${rule.picklist.join(', ')}]`
                );
            }
        }
        for (const element of ['description', 'inlineHelpText']) {
            if (!text(doc[element])) {
                report(file, `<${element}> is missing: admins and agents rely on it`);
            }
        }
    }
}

function checkPermissionSets(parsed: ParsedFile[], report: Report): void {
    const sets = new Map(
        parsed.filter((p) => p.kind.root === 'PermissionSet').map((p) => [basename(p.file, p.kind.suffix), p] as const)
    );
    const caseFieldNames = new Set(
        parsed
            .filter((p) => p.kind.root === 'CustomField' && objectOf(p.file) === 'Case')
            .map((p) => `Case.${basename(p.file, p.kind.suffix)}`)
    );
    for (const name of PERMISSION_SETS) {
        if (!sets.has(name)) {
            report(`permissionsets/${name}.permissionset-meta.xml`, 'missing permission set');
        }
    }
    for (const [name, { doc, file }] of sets) {
        for (const permission of asArray(doc.fieldPermissions)) {
            const field = text(permission.field) ?? '';
            if (field.startsWith('Case.') && field.endsWith('__c') && !caseFieldNames.has(field)) {
                report(file, `field permission for ${field}, which this package does not define`);
            }
        }
        for (const permission of asArray(doc.objectPermissions)) {
            if (permission.modifyAllRecords === 'true' || permission.viewAllRecords === 'true') {
                report(file, `${text(permission.object)}: View All / Modify All is more than the connector needs`);
            }
        }
        if (name === 'Haptik_Integration') {
            const api = asArray(doc.userPermissions).find((p) => p.name === 'ApiEnabled');
            if (api?.enabled !== 'true') {
                report(file, 'the integration user needs the ApiEnabled user permission');
            }
        }
        for (const permission of asArray(doc.objectPermissions)) {
            if (
                name.startsWith('Haptik_Agent') &&
                (permission.allowCreate === 'true' || permission.allowEdit === 'true')
            ) {
                report(file, `agents only read, but ${text(permission.object)} allows create or edit`);
            }
            if (permission.allowDelete === 'true') {
                report(file, `${text(permission.object)}: delete is more than the connector needs`);
            }
        }
        if (name.startsWith('Haptik_Agent')) {
            for (const permission of asArray(doc.fieldPermissions)) {
                if (permission.editable === 'true') {
                    report(file, `agents only read the Haptik fields, but ${text(permission.field)} is editable`);
                }
            }
        }
    }
}

function checkBundles(files: string[], parsed: ParsedFile[], options: ValidateOptions, report: Report): void {
    for (const { file, doc } of parsed.filter((p) => p.kind.root === 'LightningComponentBundle')) {
        const bundle = basename(file, '.js-meta.xml');
        const dir = dirname(file);
        if (basename(dir) !== bundle) {
            report(file, `bundle folder "${basename(dir)}" does not match the component name "${bundle}"`);
        }
        if (!files.includes(join(dir, `${bundle}.js`))) {
            report(file, `bundle has no ${bundle}.js (compile lwc-src with npm run build:lwc)`);
        }
        const apiVersion = text(doc.apiVersion);
        if (options.apiVersion !== undefined && apiVersion !== options.apiVersion) {
            report(file, `apiVersion ${apiVersion ?? 'missing'} differs from sourceApiVersion ${options.apiVersion}`);
        }
    }
    for (const file of files.filter((f) => f.endsWith('.ts') && f.split(sep).includes('lwc'))) {
        report(file, 'TypeScript does not deploy: keep sources in lwc-src/ and commit the compiled .js');
    }
}

// ------------------------------------------------------------------------------------------------
// The Metadata API's own rules, per type we ship (Metadata API Developer Guide: CustomField, ListView,
// PermissionSet, LightningComponentBundle, Group, SharingRules; Object Reference: PermissionSet, Group).
// A deploy rejects a component that breaks one, and `sf project convert source` does not look.

/** Maximum lengths of text elements, in characters. */
export const LIMITS = {
    CustomField: { label: 40, description: 1000, inlineHelpText: 510 },
    ListView: { label: 40 },
    PermissionSet: { label: 80, description: 255 },
    LightningComponentBundle: { masterLabel: 255, description: 255 },
    Group: { name: 40, description: 255 },
    SharingRule: { label: 80, description: 1000 }
} as const;

/** API names: a letter first, then letters, digits and single underscores, no underscore at the end. */
const DEVELOPER_NAME = /^[A-Za-z](?:[A-Za-z0-9]|_(?=[A-Za-z0-9]))*$/;
const MAX_DEVELOPER_NAME = 80;
/** A custom field's name before `__c` has at most 40 characters. */
const MAX_FIELD_NAME = 40;
/** Component bundle names start with a lower-case letter (they become kebab-case tags). */
const BUNDLE_NAME = /^[a-z](?:[A-Za-z0-9]|_(?=[A-Za-z0-9]))*$/;

const FIELD_TYPES = new Set([
    'AutoNumber',
    'Checkbox',
    'Currency',
    'Date',
    'DateTime',
    'Email',
    'EncryptedText',
    'Html',
    'Location',
    'LongTextArea',
    'Lookup',
    'MasterDetail',
    'MultiselectPicklist',
    'Number',
    'Percent',
    'Phone',
    'Picklist',
    'Text',
    'TextArea',
    'Time',
    'Url'
]);
const EXTERNAL_ID_TYPES = new Set(['Text', 'Number', 'Email', 'AutoNumber']);
const UNIQUE_TYPES = new Set(['Text', 'Number', 'Email']);
const MAX_PICKLIST_VALUES = 1000;
const MAX_PICKLIST_VALUE = 255;
const FILTER_OPERATIONS = new Set([
    'equals',
    'notEqual',
    'lessThan',
    'greaterThan',
    'lessOrEqual',
    'greaterOrEqual',
    'contains',
    'notContain',
    'startsWith',
    'includes',
    'excludes',
    'within'
]);
const FILTER_SCOPES = new Set([
    'Everything',
    'Mine',
    'MineAndMyGroups',
    'Queue',
    'Delegated',
    'MyTerritory',
    'MyTeamTerritory',
    'Team',
    'AssignedToMe',
    'SalesTeam',
    'ScopingRule'
]);
const BUNDLE_TARGETS = new Set([
    'lightning__RecordPage',
    'lightning__AppPage',
    'lightning__HomePage',
    'lightning__RecordAction',
    'lightning__UtilityBar',
    'lightning__FlowScreen',
    'lightning__Tab',
    'lightning__Inbox',
    'lightning__UrlAddressable',
    'lightningCommunity__Page',
    'lightningCommunity__Default',
    'lightningSnapin__ChatMessage',
    'lightningSnapin__Minimized',
    'lightningSnapin__PreChat',
    'lightningSnapin__ChatHeader',
    'lightningStatic__Email'
]);
const SHARE_ACCESS = new Set(['Read', 'Edit']);
const SHARED_TO = new Set([
    'group',
    'role',
    'roleAndSubordinates',
    'roleAndSubordinatesInternal',
    'allInternalUsers',
    'allCustomerPortalUsers',
    'allPartnerUsers',
    'portalRole',
    'portalRoleAndSubordinates',
    'territory',
    'territoryAndSubordinates',
    'queue'
]);
const BOOLEAN_ELEMENTS = [
    'externalId',
    'unique',
    'required',
    'caseSensitive',
    'trackTrending',
    'isExposed',
    'hasActivationRequired',
    'doesIncludeBosses',
    'restricted',
    'sorted'
];

function checkLength(report: Report, file: string, what: string, value: string | undefined, max: number): void {
    if (value !== undefined && value.length > max) {
        report(file, `<${what}> is ${value.length} characters; the Metadata API allows ${max}`);
    }
}

function checkDeveloperName(report: Report, file: string, what: string, name: string | undefined): void {
    if (name === undefined) return;
    if (!DEVELOPER_NAME.test(name)) {
        report(
            file,
            `${what} "${name}" is not a valid API name (a letter first, then letters, digits and single underscores, no underscore at the end)`
        );
    } else if (name.length > MAX_DEVELOPER_NAME) {
        report(file, `${what} "${name}" is ${name.length} characters; the Metadata API allows ${MAX_DEVELOPER_NAME}`);
    }
}

function checkBooleans(report: Report, file: string, doc: Element): void {
    for (const element of BOOLEAN_ELEMENTS) {
        const value = text(doc[element]);
        if (value !== undefined && value !== 'true' && value !== 'false') {
            report(file, `<${element}> is "${value}", not true or false`);
        }
    }
}

/** `booleanFilter` may only name filters 1..count. */
function checkBooleanFilter(report: Report, file: string, filter: string | undefined, count: number): void {
    if (filter === undefined) return;
    for (const ref of filter.match(/\d+/g) ?? []) {
        if (Number(ref) < 1 || Number(ref) > count) {
            report(file, `<booleanFilter> "${filter}" names filter ${ref}, but there are ${count}`);
        }
    }
    if (!/^[\d\s()]*(?:(?:AND|OR|NOT)[\d\s()]*)*$/i.test(filter)) {
        report(file, `<booleanFilter> "${filter}" is not a filter expression (numbers, AND, OR, NOT, parentheses)`);
    }
}

function checkLimits({ file, kind, doc }: ParsedFile, report: Report): void {
    checkBooleans(report, file, doc);
    switch (kind.root) {
        case 'CustomField':
            return checkCustomField(file, doc, report);
        case 'ListView': {
            checkLength(report, file, 'label', text(doc.label), LIMITS.ListView.label);
            checkDeveloperName(report, file, 'the list view name', text(doc.fullName));
            const scope = text(doc.filterScope);
            if (scope !== undefined && !FILTER_SCOPES.has(scope))
                report(file, `<filterScope> "${scope}" is not a valid scope`);
            const filters = asArray(doc.filters);
            for (const filter of filters) {
                const operation = text(filter.operation);
                if (!operation || !FILTER_OPERATIONS.has(operation)) {
                    report(
                        file,
                        `filter on ${text(filter.field) ?? '?'}: <operation> "${operation ?? ''}" is not valid`
                    );
                }
            }
            checkBooleanFilter(report, file, text(doc.booleanFilter), filters.length);
            if (!Array.isArray(doc.columns) || doc.columns.length === 0)
                report(file, 'a list view needs at least one <columns>');
            return;
        }
        case 'PermissionSet':
            return checkPermissionSetShape(file, doc, report);
        case 'LightningComponentBundle': {
            checkLength(
                report,
                file,
                'masterLabel',
                text(doc.masterLabel),
                LIMITS.LightningComponentBundle.masterLabel
            );
            checkLength(
                report,
                file,
                'description',
                text(doc.description),
                LIMITS.LightningComponentBundle.description
            );
            const bundle = basename(file, kind.suffix);
            if (!BUNDLE_NAME.test(bundle)) {
                report(
                    file,
                    `bundle name "${bundle}" must start with a lower-case letter and hold only letters, digits and single underscores`
                );
            }
            if (!/^\d+\.0$/.test(text(doc.apiVersion) ?? ''))
                report(file, `<apiVersion> "${text(doc.apiVersion) ?? ''}" is not like 64.0`);
            const targets = [
                ...asTexts(asElement(doc.targets).target),
                ...asArray(asElement(doc.targetConfigs).targetConfig).map((c) => text(c['@_targets']) ?? '')
            ];
            for (const target of targets.flatMap((t) => t.split(',')).map((t) => t.trim())) {
                if (!BUNDLE_TARGETS.has(target)) report(file, `target "${target}" is not a Lightning component target`);
            }
            if (doc.isExposed === 'true' && asTexts(asElement(doc.targets).target).length === 0) {
                report(file, 'an exposed component needs at least one <target>');
            }
            return;
        }
        case 'Group':
            checkLength(report, file, 'name', text(doc.name), LIMITS.Group.name);
            checkLength(report, file, 'description', text(doc.description), LIMITS.Group.description);
            checkDeveloperName(report, file, 'the group name', basename(file, kind.suffix));
            return;
        case 'SharingRules':
            for (const rule of [...asArray(doc.sharingCriteriaRules), ...asArray(doc.sharingOwnerRules)]) {
                const where = `sharing rule ${text(rule.fullName) ?? '?'}`;
                checkDeveloperName(report, file, 'the sharing rule name', text(rule.fullName));
                if (!text(rule.label)) report(file, `${where} lacks <label>`);
                checkLength(report, file, 'label', text(rule.label), LIMITS.SharingRule.label);
                checkLength(report, file, 'description', text(rule.description), LIMITS.SharingRule.description);
                const access = text(rule.accessLevel);
                if (!access || !SHARE_ACCESS.has(access))
                    report(file, `${where}: <accessLevel> "${access ?? ''}" is not Read or Edit`);
                const sharedTo = Object.keys(asElement(rule.sharedTo));
                if (sharedTo.length !== 1 || !SHARED_TO.has(sharedTo[0] ?? '')) {
                    report(file, `${where}: <sharedTo> must name exactly one group, role or other recipient`);
                }
                const items = asArray(rule.criteriaItems);
                if (
                    'sharingCriteriaRules' in doc &&
                    asArray(doc.sharingCriteriaRules).includes(rule) &&
                    items.length === 0
                ) {
                    report(file, `${where}: a criteria-based rule needs <criteriaItems>`);
                }
                for (const item of items) {
                    const operation = text(item.operation);
                    if (!operation || !FILTER_OPERATIONS.has(operation)) {
                        report(file, `${where}: <operation> "${operation ?? ''}" is not valid`);
                    }
                }
                checkBooleanFilter(report, file, text(rule.booleanFilter), items.length);
            }
            return;
        default:
            return;
    }
}

function asTexts(value: unknown): string[] {
    const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
    return list.map(text).filter((v): v is string => v !== undefined);
}

function checkCustomField(file: string, doc: Element, report: Report): void {
    checkLength(report, file, 'label', text(doc.label), LIMITS.CustomField.label);
    checkLength(report, file, 'description', text(doc.description), LIMITS.CustomField.description);
    checkLength(report, file, 'inlineHelpText', text(doc.inlineHelpText), LIMITS.CustomField.inlineHelpText);
    const name = text(doc.fullName);
    if (name !== undefined) {
        const base = name.replace(/__c$/, '');
        if (!name.endsWith('__c') || !DEVELOPER_NAME.test(base)) {
            report(
                file,
                `field name "${name}" must be an API name ending in __c (letters, digits, single underscores)`
            );
        } else if (base.length > MAX_FIELD_NAME) {
            report(
                file,
                `field name "${name}" has ${base.length} characters before __c; the Metadata API allows ${MAX_FIELD_NAME}`
            );
        }
    }
    const type = text(doc.type);
    if (type === undefined) return;
    if (!FIELD_TYPES.has(type)) {
        report(file, `<type> "${type}" is not a custom field type`);
        return;
    }
    const length = Number(text(doc.length));
    const lines = Number(text(doc.visibleLines));
    if (type === 'Text' && !(Number.isInteger(length) && length >= 1 && length <= 255)) {
        report(file, `a Text field needs a <length> of 1 to 255, not ${text(doc.length) ?? 'none'}`);
    }
    if (type === 'LongTextArea' || type === 'Html') {
        if (!(Number.isInteger(length) && length >= 256 && length <= 131072)) {
            report(file, `a ${type} field needs a <length> of 256 to 131072, not ${text(doc.length) ?? 'none'}`);
        }
        if (!(Number.isInteger(lines) && lines >= 2 && lines <= 50)) {
            report(file, `a ${type} field needs <visibleLines> of 2 to 50, not ${text(doc.visibleLines) ?? 'none'}`);
        }
    }
    if (doc.externalId === 'true' && !EXTERNAL_ID_TYPES.has(type))
        report(file, `a ${type} field cannot be an External ID`);
    if (doc.unique === 'true' && !UNIQUE_TYPES.has(type)) report(file, `a ${type} field cannot be unique`);
    if (type === 'Picklist' || type === 'MultiselectPicklist') {
        const valueSet = asElement(doc.valueSet);
        const values = asArray(asElement(valueSet.valueSetDefinition).value);
        if (values.length === 0 && text(valueSet.valueSetName) === undefined) {
            report(file, 'a picklist needs a <valueSet> with values or a global value set');
        }
        if (values.length > MAX_PICKLIST_VALUES)
            report(file, `${values.length} picklist values; the limit is ${MAX_PICKLIST_VALUES}`);
        const seen = new Set<string>();
        let defaults = 0;
        for (const value of values) {
            const apiName = text(value.fullName) ?? '';
            if (apiName === '') report(file, 'a picklist value lacks <fullName>');
            checkLength(report, file, `value ${apiName} fullName`, apiName, MAX_PICKLIST_VALUE);
            checkLength(report, file, `value ${apiName} label`, text(value.label), MAX_PICKLIST_VALUE);
            if (seen.has(apiName.toLowerCase())) report(file, `picklist value "${apiName}" appears twice`);
            seen.add(apiName.toLowerCase());
            if (value.default === 'true') defaults += 1;
        }
        if (defaults > 1) report(file, `${defaults} picklist values are the default; at most one may be`);
    }
}

function checkPermissionSetShape(file: string, doc: Element, report: Report): void {
    checkLength(report, file, 'label', text(doc.label), LIMITS.PermissionSet.label);
    checkLength(report, file, 'description', text(doc.description), LIMITS.PermissionSet.description);
    checkDeveloperName(report, file, 'the permission set name', basename(file, '.permissionset-meta.xml'));
    const fields = new Set<string>();
    for (const permission of asArray(doc.fieldPermissions)) {
        const field = text(permission.field) ?? '';
        if (!/^[A-Za-z]\w*\.[A-Za-z]\w*$/.test(field)) report(file, `field permission "${field}" is not Object.Field`);
        if (fields.has(field)) report(file, `field permission for ${field} appears twice`);
        fields.add(field);
        if (permission.editable === 'true' && permission.readable !== 'true') {
            report(file, `${field}: editable needs readable`);
        }
        for (const element of ['editable', 'readable']) {
            if (permission[element] !== 'true' && permission[element] !== 'false')
                report(file, `${field}: <${element}> must be true or false`);
        }
    }
    const objects = new Set<string>();
    for (const permission of asArray(doc.objectPermissions)) {
        const object = text(permission.object) ?? '';
        if (objects.has(object)) report(file, `object permission for ${object} appears twice`);
        objects.add(object);
        const on = (element: string): boolean => permission[element] === 'true';
        for (const element of [
            'allowCreate',
            'allowDelete',
            'allowEdit',
            'allowRead',
            'modifyAllRecords',
            'viewAllRecords'
        ]) {
            if (permission[element] !== 'true' && permission[element] !== 'false')
                report(file, `${object}: <${element}> must be true or false`);
        }
        if ((on('allowCreate') || on('allowEdit') || on('viewAllRecords')) && !on('allowRead'))
            report(file, `${object}: create, edit and View All need read`);
        if (on('allowDelete') && !on('allowEdit')) report(file, `${object}: delete needs edit`);
        if (on('modifyAllRecords') && !(on('allowDelete') && on('viewAllRecords')))
            report(file, `${object}: Modify All needs delete and View All`);
    }
    for (const permission of asArray(doc.fieldPermissions)) {
        const object = (text(permission.field) ?? '').split('.')[0] ?? '';
        if (!objects.has(object))
            report(file, `field permission for ${text(permission.field)} without an object permission for ${object}`);
    }
}

/** Sharing rules must share with groups this package ships and filter on fields it defines. */
function checkSharing(parsed: ParsedFile[], report: Report): void {
    const groups = new Set(parsed.filter((p) => p.kind.root === 'Group').map((p) => basename(p.file, p.kind.suffix)));
    const fields = new Set(
        parsed
            .filter((p) => p.kind.root === 'CustomField')
            .map((p) => `${objectOf(p.file)}.${basename(p.file, p.kind.suffix)}`)
    );
    for (const { file, kind, doc } of parsed.filter((p) => p.kind.root === 'SharingRules')) {
        const object = basename(file, kind.suffix);
        for (const rule of [...asArray(doc.sharingCriteriaRules), ...asArray(doc.sharingOwnerRules)]) {
            const group = text(asElement(rule.sharedTo).group);
            if (group !== undefined && !groups.has(group)) {
                report(
                    file,
                    `sharing rule ${text(rule.fullName) ?? '?'} shares with the group ${group}, which this package does not ship`
                );
            }
            for (const item of asArray(rule.criteriaItems)) {
                const field = text(item.field) ?? '';
                if (field.endsWith('__c') && !fields.has(`${object}.${field}`)) {
                    report(
                        file,
                        `sharing rule ${text(rule.fullName) ?? '?'} filters on ${object}.${field}, which this package does not define`
                    );
                }
            }
        }
    }
}
