import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateMetadata } from '../../scripts/validate-metadata';

const API_VERSION = (JSON.parse(readFileSync('sfdx-project.json', 'utf8')) as { sourceApiVersion: string })
    .sourceApiVersion;
const FIELDS = 'main/default/objects/Case/fields';

describe('validateMetadata', () => {
    let dir: string;

    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), 'haptik-metadata-'));
        cpSync('force-app', dir, { recursive: true });
    });

    afterEach(() => {
        rmSync(dir, { recursive: true, force: true });
    });

    const edit = (path: string, from: string | RegExp, to: string): void => {
        const file = join(dir, path);
        const before = readFileSync(file, 'utf8');
        const after = before.replace(from, to);
        expect(after).not.toBe(before);
        writeFileSync(file, after);
    };
    const messages = (): string[] =>
        validateMetadata(dir, { apiVersion: API_VERSION }).map((p) => `${p.file.split('/').pop() ?? ''}: ${p.message}`);

    it('finds nothing wrong in the shipped force-app', () => {
        expect(validateMetadata('force-app', { apiVersion: API_VERSION })).toEqual([]);
    });

    it('catches malformed XML', () => {
        edit(`${FIELDS}/Haptik_User_Id__c.field-meta.xml`, '</label>', '</labl>');
        expect(messages()).toEqual([
            expect.stringMatching(/^Haptik_User_Id__c\.field-meta\.xml: not well-formed XML at \d+:\d+: /),
            // the broken field is no longer readable, so the contract check misses it too
            expect.stringMatching(/^Haptik_User_Id__c\.field-meta\.xml: missing \(contract §4\)$/),
            'Haptik_Agent.permissionset-meta.xml: field permission for Case.Haptik_User_Id__c, which this package does not define',
            'Haptik_Integration.permissionset-meta.xml: field permission for Case.Haptik_User_Id__c, which this package does not define'
        ]);
    });

    it('catches a missing required element and a wrong fullName', () => {
        edit(`${FIELDS}/Haptik_Transcript__c.field-meta.xml`, /<label>.*<\/label>/, '');
        edit(
            `${FIELDS}/Haptik_Event_Key__c.field-meta.xml`,
            '<fullName>Haptik_Event_Key__c<',
            '<fullName>Event_Key__c<'
        );
        expect(messages()).toEqual([
            'Haptik_Event_Key__c.field-meta.xml: fullName "Event_Key__c" does not match the file name "Haptik_Event_Key__c"',
            'Haptik_Transcript__c.field-meta.xml: <CustomField> lacks <label>'
        ]);
    });

    it('enforces the contract §4 field rules', () => {
        edit(`${FIELDS}/Haptik_Conversation_Key__c.field-meta.xml`, '<length>255</length>', '<length>64</length>');
        edit(`${FIELDS}/Haptik_Conversation_Key__c.field-meta.xml`, '<unique>true</unique>', '<unique>false</unique>');
        edit(
            `${FIELDS}/Haptik_Event_Key__c.field-meta.xml`,
            '<externalId>true</externalId>',
            '<externalId>false</externalId>'
        );
        edit(`${FIELDS}/Haptik_Bot_Context__c.field-meta.xml`, '<type>LongTextArea</type>', '<type>TextArea</type>');
        edit(`${FIELDS}/Haptik_Channel__c.field-meta.xml`, /<value>\s*<fullName>iOS<\/fullName>[\s\S]*?<\/value>/, '');
        unlinkSync(join(dir, FIELDS, 'Haptik_User_Id__c.field-meta.xml'));
        expect(messages().sort()).toEqual(
            [
                'Haptik_Bot_Context__c.field-meta.xml: <type> is TextArea, contract §4 wants LongTextArea',
                'Haptik_Channel__c.field-meta.xml: picklist values are [Web, Android, WhatsApp, Facebook, Other], contract §4 wants [Web, Android, iOS, WhatsApp, Facebook, Other]',
                'Haptik_Conversation_Key__c.field-meta.xml: <length> is 64, contract §4 wants 255',
                'Haptik_Conversation_Key__c.field-meta.xml: <unique> is false, contract §4 wants true',
                'Haptik_Event_Key__c.field-meta.xml: <externalId> is false, contract §4 wants true',
                'Haptik_User_Id__c.field-meta.xml: missing (contract §4)',
                // the permission sets still grant the deleted field
                'Haptik_Agent.permissionset-meta.xml: field permission for Case.Haptik_User_Id__c, which this package does not define',
                'Haptik_Integration.permissionset-meta.xml: field permission for Case.Haptik_User_Id__c, which this package does not define'
            ].sort()
        );
    });

    it('checks least privilege and API access in the permission sets', () => {
        const integration = 'main/default/permissionsets/Haptik_Integration.permissionset-meta.xml';
        edit(integration, '<name>ApiEnabled</name>', '<name>ViewSetup</name>');
        edit(integration, /<modifyAllRecords>false<\/modifyAllRecords>/, '<modifyAllRecords>true</modifyAllRecords>');
        edit(
            'main/default/permissionsets/Haptik_Agent.permissionset-meta.xml',
            '<editable>false</editable>',
            '<editable>true</editable>'
        );
        expect(messages().sort()).toEqual([
            'Haptik_Agent.permissionset-meta.xml: agents only read the Haptik fields, but Case.Haptik_Bot_Context__c is editable',
            'Haptik_Integration.permissionset-meta.xml: Account: View All / Modify All is more than the connector needs',
            'Haptik_Integration.permissionset-meta.xml: the integration user needs the ApiEnabled user permission'
        ]);
    });

    it('checks component bundles: api version, compiled js, no TypeScript', () => {
        const bundle = 'main/default/lwc/haptikBotContext';
        edit(
            `${bundle}/haptikBotContext.js-meta.xml`,
            `<apiVersion>${API_VERSION}</apiVersion>`,
            '<apiVersion>58.0</apiVersion>'
        );
        unlinkSync(join(dir, bundle, 'haptikBotContext.js'));
        writeFileSync(join(dir, bundle, 'helper.ts'), 'export const x = 1;\n');
        writeFileSync(join(dir, 'main/default/objects/Case/Weird-meta.xml'), '<?xml version="1.0"?><Weird/>');
        expect(messages().sort()).toEqual(
            [
                `haptikBotContext.js-meta.xml: apiVersion 58.0 differs from sourceApiVersion ${API_VERSION}`,
                'haptikBotContext.js-meta.xml: bundle has no haptikBotContext.js (compile lwc-src with npm run build:lwc)',
                'helper.ts: TypeScript does not deploy: keep sources in lwc-src/ and commit the compiled .js',
                'Weird-meta.xml: not a metadata type this package ships (unknown file suffix)'
            ].sort()
        );
    });
});
