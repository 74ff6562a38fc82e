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
    Haptik_User_Id__c: { type: 'Text', length: '255' },
    Haptik_Channel__c: { type: 'Picklist', picklist: ['Web', 'Android', 'iOS', 'WhatsApp', 'Facebook', 'Other'] },
    Haptik_Bot_Context__c: { type: 'LongTextArea', length: '131072', visibleLines: true },
    Haptik_Transcript__c: { type: 'LongTextArea', length: '131072', visibleLines: true }
};

export const PERMISSION_SETS = ['Haptik_Integration', 'Haptik_Agent'];

// Repeated elements always come back as arrays, whatever their count in a file.
const ARRAY_ELEMENTS = new Set([
    'fieldPermissions',
    'objectPermissions',
    'userPermissions',
    'value',
    'columns',
    'filters',
    'target',
    'targetConfig'
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

export function validateMetadata(packageDir: string, options: ValidateOptions = {}): MetadataProblem[] {
    const problems: MetadataProblem[] = [];
    const report = (file: string, message: string): void => {
        problems.push({ file: relative(process.cwd(), file) || file, message });
    };
    const files = walk(packageDir);
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
    }

    checkCaseFields(packageDir, parsed, report);
    checkPermissionSets(parsed, report);
    checkBundles(files, parsed, options, report);
    return problems;
}

type Report = (file: string, message: string) => void;

function objectOf(file: string): string {
    // objects/<Object>/fields/<Field>.field-meta.xml
    return basename(dirname(dirname(file)));
}

function checkCaseFields(packageDir: string, parsed: ParsedFile[], report: Report): void {
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
            report(
                join(packageDir, 'main/default/objects/Case/fields', `${fieldName}.field-meta.xml`),
                'missing (contract §4)'
            );
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
        if (name === 'Haptik_Agent') {
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
