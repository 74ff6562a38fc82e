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
        validateMetadata(dir, { apiVersion: API_VERSION, defaultPackageDir: join(dir, 'main') }).map(
            (p) => `${p.file.split('/').pop() ?? ''}: ${p.message}`
        );
    const PERMISSION_SETS = 'main/default/permissionsets';
    const INTEGRATION = `${PERMISSION_SETS}/Haptik_Integration.permissionset-meta.xml`;

    it('finds nothing wrong in the shipped package directories', () => {
        const project = JSON.parse(readFileSync('sfdx-project.json', 'utf8')) as {
            packageDirectories: { path: string; default?: boolean }[];
        };
        const dirs = project.packageDirectories.map((d) => d.path);
        expect(dirs).toEqual(['force-app/main', 'force-app/messaging', 'force-app/legacy-chat', 'force-app/byoc']);
        expect(validateMetadata(dirs, { apiVersion: API_VERSION, defaultPackageDir: 'force-app/main' })).toEqual([]);
        expect(validateMetadata('force-app', { apiVersion: API_VERSION })).toEqual([]);
    });

    it('catches the 271-character permission set description a deploy rejects', () => {
        const description =
            "For the Haptik connector's integration user only: API access, create and update Cases with the Haptik fields, read Contacts, Leads and Accounts for the CRM lookup, and link a chat (MessagingSession or LiveChatTranscript) to its Case. No delete, no View All or Modify All.";
        expect(description).toHaveLength(271);
        edit(
            INTEGRATION,
            /<description>.*<\/description>/,
            `<description>${description.replace("'", '&apos;')}</description>`
        );
        expect(messages()).toEqual([
            'Haptik_Integration.permissionset-meta.xml: <description> is 271 characters; the Metadata API allows 255',
            // the old text also names the chat objects, which not every org has
            'Haptik_Integration.permissionset-meta.xml: names MessagingSession, which only some orgs have: move it to its own package directory (force-app/messaging, force-app/legacy-chat)'
        ]);
    });

    it('keeps what only some orgs have out of the default package directory', () => {
        const messaging = readFileSync(
            join(dir, 'messaging/permissionsets/Haptik_Integration_Messaging.permissionset-meta.xml'),
            'utf8'
        );
        writeFileSync(join(dir, PERMISSION_SETS, 'Haptik_Integration_Messaging.permissionset-meta.xml'), messaging);
        rmSync(join(dir, 'messaging'), { recursive: true });
        expect(messages()).toEqual([
            'Haptik_Integration_Messaging.permissionset-meta.xml: names MessagingSession, which only some orgs have: move it to its own package directory (force-app/messaging, force-app/legacy-chat)',
            // the agents' Messaging permission set went with the deleted folder
            'Haptik_Agent_Messaging.permissionset-meta.xml: missing permission set'
        ]);
    });

    it('knows the Metadata API limits of custom fields', () => {
        const field = `${FIELDS}/Haptik_Transcript__c.field-meta.xml`;
        edit(field, /<label>.*<\/label>/, `<label>${'L'.repeat(41)}</label>`);
        edit(field, /<inlineHelpText>.*<\/inlineHelpText>/, `<inlineHelpText>${'h'.repeat(511)}</inlineHelpText>`);
        edit(field, /<description>.*<\/description>/, `<description>${'d'.repeat(1001)}</description>`);
        edit(field, '<visibleLines>10</visibleLines>', '<visibleLines>1</visibleLines>');
        edit(field, '<trackTrending>false</trackTrending>', '<trackTrending>no</trackTrending>');
        const channel = `${FIELDS}/Haptik_Channel__c.field-meta.xml`;
        edit(channel, '<fullName>Android</fullName>', '<fullName>Web</fullName>');
        edit(channel, /<default>false<\/default>/, '<default>true</default>');
        edit(channel, /(<value>\s*<fullName>iOS<\/fullName>\s*)<default>false<\/default>/, '$1<default>true</default>');
        const userId = `${FIELDS}/Haptik_User_Id__c.field-meta.xml`;
        edit(userId, '<length>255</length>', '<length>300</length>');
        expect(messages().sort()).toEqual(
            [
                'Haptik_Transcript__c.field-meta.xml: <label> is 41 characters; the Metadata API allows 40',
                'Haptik_Transcript__c.field-meta.xml: <description> is 1001 characters; the Metadata API allows 1000',
                'Haptik_Transcript__c.field-meta.xml: <inlineHelpText> is 511 characters; the Metadata API allows 510',
                'Haptik_Transcript__c.field-meta.xml: a LongTextArea field needs <visibleLines> of 2 to 50, not 1',
                'Haptik_Transcript__c.field-meta.xml: <trackTrending> is "no", not true or false',
                'Haptik_Channel__c.field-meta.xml: picklist value "Web" appears twice',
                'Haptik_Channel__c.field-meta.xml: 2 picklist values are the default; at most one may be',
                'Haptik_Channel__c.field-meta.xml: picklist values are [Web, Web, iOS, WhatsApp, Facebook, Other], contract §4 wants [Web, Android, iOS, WhatsApp, Facebook, Other]',
                'Haptik_User_Id__c.field-meta.xml: a Text field needs a <length> of 1 to 255, not 300',
                'Haptik_User_Id__c.field-meta.xml: <length> is 300, contract §4 wants 255'
            ].sort()
        );
    });

    it('knows API name rules and field types', () => {
        const renamed = `${FIELDS}/Haptik__Odd_Name_c.field-meta.xml`;
        writeFileSync(
            join(dir, renamed),
            readFileSync(join(dir, FIELDS, 'Haptik_User_Id__c.field-meta.xml'), 'utf8')
                .replace('<fullName>Haptik_User_Id__c</fullName>', '<fullName>Haptik__Odd_Name_c</fullName>')
                .replace('<type>Text</type>', '<type>String</type>')
        );
        const long = `A${'b'.repeat(40)}__c`;
        writeFileSync(
            join(dir, FIELDS, `${long}.field-meta.xml`),
            readFileSync(join(dir, FIELDS, 'Haptik_Bot_Context__c.field-meta.xml'), 'utf8')
                .replace('<fullName>Haptik_Bot_Context__c</fullName>', `<fullName>${long}</fullName>`)
                .replace('<externalId>false</externalId>', '<externalId>true</externalId>')
        );
        expect(messages().sort()).toEqual(
            [
                'Haptik__Odd_Name_c.field-meta.xml: field name "Haptik__Odd_Name_c" must be an API name ending in __c (letters, digits, single underscores)',
                'Haptik__Odd_Name_c.field-meta.xml: <type> "String" is not a custom field type',
                `${long}.field-meta.xml: field name "${long}" has 41 characters before __c; the Metadata API allows 40`,
                `${long}.field-meta.xml: a LongTextArea field cannot be an External ID`
            ].sort()
        );
    });

    it('knows the limits and valid values of list views, permission sets, groups, sharing rules and bundles', () => {
        const listView = 'main/default/objects/Case/listViews/Chatbot_Cases.listView-meta.xml';
        edit(listView, '<label>Chatbot Cases</label>', `<label>${'x'.repeat(41)}</label>`);
        edit(listView, '<operation>notEqual</operation>', '<operation>isNot</operation>');
        edit(listView, '<booleanFilter>1 OR 2</booleanFilter>', '<booleanFilter>1 OR 3</booleanFilter>');
        edit(INTEGRATION, '<label>Haptik Integration</label>', `<label>${'p'.repeat(81)}</label>`);
        edit(
            INTEGRATION,
            /<editable>true<\/editable>\s*<field>Case.Subject<\/field>\s*<readable>true/,
            '<editable>true</editable><field>Case.Subject</field><readable>false'
        );
        edit(
            INTEGRATION,
            /<allowDelete>false<\/allowDelete>(\s*<allowEdit>true<\/allowEdit>\s*<allowRead>true<\/allowRead>\s*<modifyAllRecords>false<\/modifyAllRecords>\s*<object>Case)/,
            '<allowDelete>true</allowDelete>$1'
        );
        const group = 'main/default/groups/Haptik_Integration_Users.group-meta.xml';
        edit(group, '<name>Haptik Integration Users</name>', `<name>${'g'.repeat(41)}</name>`);
        const sharing = 'main/default/sharingRules/Case.sharingRules-meta.xml';
        edit(sharing, '<accessLevel>Edit</accessLevel>', '<accessLevel>All</accessLevel>');
        edit(sharing, '<group>Haptik_Integration_Users</group>', '<group>Someone_Else</group>');
        edit(sharing, '<field>Haptik_Event_Key__c</field>', '<field>Haptik_Missing__c</field>');
        const meta = 'main/default/lwc/haptikBotContext/haptikBotContext.js-meta.xml';
        edit(meta, '<masterLabel>Haptik Bot Context</masterLabel>', `<masterLabel>${'m'.repeat(256)}</masterLabel>`);
        edit(
            meta,
            '<target>lightning__RecordPage</target>',
            '<target>lightning__RecordPage</target><target>lightning__CasePage</target>'
        );
        expect(messages().sort()).toEqual(
            [
                'Chatbot_Cases.listView-meta.xml: <label> is 41 characters; the Metadata API allows 40',
                'Chatbot_Cases.listView-meta.xml: filter on Haptik_Conversation_Key__c: <operation> "isNot" is not valid',
                'Chatbot_Cases.listView-meta.xml: <booleanFilter> "1 OR 3" names filter 3, but there are 2',
                'Haptik_Integration.permissionset-meta.xml: <label> is 81 characters; the Metadata API allows 80',
                'Haptik_Integration.permissionset-meta.xml: Case.Subject: editable needs readable',
                'Haptik_Integration.permissionset-meta.xml: Case: delete is more than the connector needs',
                'Haptik_Integration_Users.group-meta.xml: <name> is 41 characters; the Metadata API allows 40',
                'Case.sharingRules-meta.xml: sharing rule Haptik_Connector_Cases: <accessLevel> "All" is not Read or Edit',
                'Case.sharingRules-meta.xml: sharing rule Haptik_Connector_Cases shares with the group Someone_Else, which this package does not ship',
                'Case.sharingRules-meta.xml: sharing rule Haptik_Connector_Cases filters on Case.Haptik_Missing__c, which this package does not define',
                'haptikBotContext.js-meta.xml: <masterLabel> is 256 characters; the Metadata API allows 255',
                'haptikBotContext.js-meta.xml: target "lightning__CasePage" is not a Lightning component target'
            ].sort()
        );
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
        expect(messages().sort()).toEqual(
            [
                'Haptik_Agent.permissionset-meta.xml: agents only read the Haptik fields, but Case.Haptik_Bot_Context__c is editable',
                'Haptik_Integration.permissionset-meta.xml: Account: View All / Modify All is more than the connector needs',
                'Haptik_Integration.permissionset-meta.xml: Account: Modify All needs delete and View All',
                'Haptik_Integration.permissionset-meta.xml: the integration user needs the ApiEnabled user permission'
            ].sort()
        );
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
