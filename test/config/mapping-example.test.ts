import path from 'node:path';
import { loadSettings } from '../../bridge/src/config/mapping-file';

/** The documented example must stay a valid mapping file. */
describe('docs/mapping.example.yaml', () => {
    it('loads, and its values reach the settings', () => {
        const settings = loadSettings(path.join(__dirname, '../../docs/mapping.example.yaml'));
        expect(settings.lookup.phone).toEqual({ defaultCountryCode: '91', nationalLength: 10 });
        expect(settings.lookup.extraFields['loyalty_tier']).toEqual({
            Contact: 'Loyalty_Tier__c',
            PersonAccount: 'Loyalty_Tier__pc'
        });
        expect(Object.keys(settings.cases.templates)).toEqual(expect.arrayContaining(['service_request', 'callback']));
        expect(settings.transcript.mode).toBe('all');
        expect(settings.handover.endKeywords).toEqual(['end chat', 'stop chat']);
        expect(settings.handover.legacyChat).toEqual({
            availabilityCheck: true,
            transcriptFields: { Haptik_Intent: ['Haptik_Intent__c'] }
        });
    });

    it('rejects a mapping file that is not YAML, naming the file', () => {
        expect(() => loadSettings(path.join(__dirname, '../../README.md'))).toThrow(/BRIDGE_CONFIG_FILE .*README.md/);
    });
});
