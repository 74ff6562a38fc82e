import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { migrate } from '../../bridge/src/store/migrate';
import { MIGRATIONS } from '../../bridge/src/store/migrations';
import { openPgliteDb } from '../../bridge/src/store/pglite-db';
import { doctor } from '../../scripts/doctor';
import { testCertificate } from '../emulators/haptik';
import { registerHooks } from '../../scripts/register-hooks';
import { startLiveAgentEmulator } from '../emulators/live-agent';
import type { LiveAgentEmulator } from '../emulators/live-agent';
import { SANDBOX_CREDENTIALS, SANDBOX_ES_DEVELOPER_NAME, byocEnv } from '../emulators/sandbox';
import { SANDBOX_BYOC } from '../emulators/byoc';
import { shippedIntegrationUser } from '../emulators/salesforce';
import { SECRETS, captureOutput, migratedDataDir, removeDataDir, startOpsWorld } from './ops-harness';
import type { Captured, OpsWorld } from './ops-harness';

const BRIDGE_URL = 'https://bridge.example.com';

describe('npm run doctor against the emulators', () => {
    let dataDir: string;
    let world: OpsWorld;

    beforeAll(async () => {
        dataDir = await migratedDataDir();
    });

    afterAll(async () => {
        await removeDataDir(dataDir);
    });

    beforeEach(async () => {
        world = await startOpsWorld(dataDir);
    });

    afterEach(async () => {
        await world.close();
    });

    async function runDoctor(
        env: Record<string, string> = world.env,
        args: string[] = ['--bridge-url', BRIDGE_URL]
    ): Promise<{ code: number; out: Captured }> {
        const out = captureOutput();
        const code = await doctor(args, env, out, { timeoutMs: 5000 });
        return { code, out };
    }

    it('passes every check on a correct configuration and prints no secret', async () => {
        expect(await registerHooks(['--bridge-url', BRIDGE_URL], world.env, captureOutput())).toBe(0);

        const { code, out } = await runDoctor();

        expect(out.line('✔', 'Configuration')).toContain('SF_CHAT_API=enhanced');
        expect(out.line('✔', 'Salesforce login')).toContain('client_credentials token');
        expect(out.line('✔', 'Case fields')).toContain('all 6 Haptik fields');
        expect(out.line('✔', 'Enhanced Chat deployment')).toContain(SANDBOX_ES_DEVELOPER_NAME);
        expect(out.line('✔', 'Inbound authentication')).toContain('hook URLs with ?key= (HAPTIK_HOOK_TOKEN)');
        expect(out.line('✔', 'TRACT token')).toContain(`issued a token for ${SANDBOX_CREDENTIALS.tractClientId}`);
        expect(out.line('✔', 'Haptik credentials')).toBeDefined();
        expect(out.line('✔', 'Haptik API token')).toBeDefined();
        expect(out.line('✔', 'Database')).toContain(`schema version ${MIGRATIONS.at(-1)!.version}`);
        expect(out.line('✔', 'TRACT hooks')).toContain(`all 3 hooks point at ${BRIDGE_URL} with the hook key`);
        expect(out.text).toContain('All checks passed.');
        expect(out.text).not.toContain('✘');
        for (const secret of SECRETS) expect(out.text).not.toContain(secret);
        expect(code).toBe(0);
        // Nothing was opened in Salesforce's chat: a token only.
        expect(world.emulators.chat.conversations()).toHaveLength(0);
    });

    it('names the login settings when Salesforce rejects the client secret', async () => {
        world.emulators.salesforce.setClientSecret('rotated-by-the-admin');

        const { code, out } = await runDoctor();

        const line = out.line('✘', 'Salesforce login');
        expect(line).toContain('invalid_client');
        expect(out.text).toContain('fix: Check SF_CLIENT_ID and SF_CLIENT_SECRET');
        expect(out.line('-', 'Case fields')).toContain('needs a working Salesforce login');
        expect(out.text).not.toContain('rotated-by-the-admin');
        expect(code).toBe(1);
    });

    it('names a missing Case field and says to install the package', async () => {
        world.emulators.salesforce.removeField('Case', 'Haptik_Transcript__c');

        const { code, out } = await runDoctor();

        expect(out.line('✘', 'Case fields')).toBe(
            '✘ Case fields: missing or not visible to the integration user: Haptik_Transcript__c'
        );
        expect(out.text).toContain('fix: install the package');
        expect(out.text).toContain('Haptik_Integration permission set');
        expect(code).toBe(1);
    });

    it('names a read-only Case field and says to assign the permission set', async () => {
        world.emulators.salesforce.setFieldReadOnly('Case', 'Haptik_Bot_Context__c');

        const { code, out } = await runDoctor();

        expect(out.line('✘', 'Case fields')).toBe(
            '✘ Case fields: read-only for the integration user: Haptik_Bot_Context__c'
        );
        expect(out.text).toContain('fix: assign the Haptik_Integration permission set');
        expect(code).toBe(1);
    });

    it('names a standard Case field the integration user may not write', async () => {
        world.emulators.salesforce.setIntegrationUser(shippedIntegrationUser({ without: ['Case.Priority'] }));

        const { code, out } = await runDoctor();

        expect(out.line('✘', 'Case fields')).toBe(
            '✘ Case fields: standard fields the bridge writes but the integration user cannot: Priority'
        );
        expect(out.text).toContain('fix: assign the Haptik_Integration permission set');
        expect(code).toBe(1);
    });

    it('checks the custom fields the mapping file names too', async () => {
        const dir = await mkdtemp(path.join(tmpdir(), 'haptik-mapping-'));
        try {
            const file = path.join(dir, 'mapping.json');
            await writeFile(
                file,
                JSON.stringify({ cases: { templates: { lead: { fields: { Lead_Score__c: '{{score}}' } } } } })
            );

            const { code, out } = await runDoctor({ ...world.env, BRIDGE_CONFIG_FILE: file });

            expect(out.line('✔', 'Configuration')).toContain(`mapping file ${file}`);
            expect(out.line('✘', 'Case fields')).toContain(
                "named in the mapping file's case templates but missing or not writable: Lead_Score__c"
            );
            expect(code).toBe(1);
        } finally {
            await rm(dir, { recursive: true, force: true });
        }
    });

    it('says where the Enhanced Chat endpoint is when it does not answer', async () => {
        // Port 1 on loopback: nothing listens there, the connection is refused.
        const { code, out } = await runDoctor({ ...world.env, SF_SCRT_URL: 'http://127.0.0.1:1' });

        expect(out.line('✘', 'Enhanced Chat deployment')).toBe(
            '✘ Enhanced Chat deployment: no answer from SF_SCRT_URL http://127.0.0.1:1'
        );
        expect(out.text).toContain('fix: check SF_SCRT_URL');
        expect(code).toBe(1);
    });

    it('names the deployment settings when SCRT2 refuses the deployment name', async () => {
        const { code, out } = await runDoctor({ ...world.env, SF_ES_DEVELOPER_NAME: 'No_Such_Deployment' });

        expect(out.line('✘', 'Enhanced Chat deployment')).toContain(
            'refused a token for No_Such_Deployment (HTTP 400)'
        );
        expect(out.text).toContain('fix: check SF_ES_DEVELOPER_NAME');
        expect(code).toBe(1);
    });

    describe('with the legacy Chat API', () => {
        const DEPLOYMENT_ID = '572Hp000000EmuL';
        const BUTTON_ID = '573Hp000000EmuL';
        let liveAgent: LiveAgentEmulator;
        let legacyEnv: Record<string, string>;

        beforeEach(async () => {
            liveAgent = await startLiveAgentEmulator({
                orgId: SANDBOX_CREDENTIALS.sfOrgId,
                deploymentId: DEPLOYMENT_ID,
                buttonId: BUTTON_ID,
                pollHoldMs: 300
            });
            const { SF_SCRT_URL: _scrt, SF_ES_DEVELOPER_NAME: _es, ...rest } = world.env;
            legacyEnv = {
                ...rest,
                SF_CHAT_API: 'legacy',
                SF_LIVEAGENT_URL: liveAgent.endpoint,
                SF_LIVEAGENT_DEPLOYMENT_ID: DEPLOYMENT_ID,
                SF_LIVEAGENT_BUTTON_ID: BUTTON_ID
            };
        });

        afterEach(async () => {
            await liveAgent.close();
        });

        it('asks the Availability resource about the button', async () => {
            liveAgent.setAvailability(true);

            const { out } = await runDoctor(legacyEnv);

            expect(out.line('✔', 'Configuration')).toContain('SF_CHAT_API=legacy');
            expect(out.line('✔', 'Legacy Chat endpoint')).toBe(
                `✔ Legacy Chat endpoint: ${liveAgent.endpoint} answers for button ${BUTTON_ID} (agents available now)`
            );
            expect(out.line('✔', 'Enhanced Chat deployment')).toBeUndefined();
        });

        it('notes a button without agents but does not fail on it', async () => {
            liveAgent.setAvailability(false);

            const { out } = await runDoctor(legacyEnv);

            expect(out.line('✔', 'Legacy Chat endpoint')).toContain('no agent available now');
        });

        it('names the ids when the endpoint refuses the deployment', async () => {
            const { code, out } = await runDoctor({ ...legacyEnv, SF_LIVEAGENT_DEPLOYMENT_ID: '572Hp000000Nope' });

            expect(out.line('✘', 'Legacy Chat endpoint')).toContain('answered HTTP 400 to Visitor/Availability');
            expect(out.text).toContain('fix: check SF_LIVEAGENT_URL, SF_ORG_ID and SF_LIVEAGENT_DEPLOYMENT_ID');
            expect(code).toBe(1);
        });

        it('says where the endpoint is when it does not answer', async () => {
            const { code, out } = await runDoctor({ ...legacyEnv, SF_LIVEAGENT_URL: 'http://127.0.0.1:1/chat' });

            expect(out.line('✘', 'Legacy Chat endpoint')).toBe(
                '✘ Legacy Chat endpoint: no answer from SF_LIVEAGENT_URL http://127.0.0.1:1/chat'
            );
            expect(code).toBe(1);
        });
    });

    describe('with Bring Your Own Channel', () => {
        it('checks the JWT token, its interaction_api scope and the Interaction Service', async () => {
            const { out } = await runDoctor({ ...world.env, ...byocEnv(world.emulators.byoc) });

            expect(out.line('✔', 'Configuration')).toContain('SF_CHAT_API=byoc');
            expect(out.line('✔', 'BYOC channel (Interaction Service API)')).toContain(
                `accepts the bridge's token and AuthorizationContext ${SANDBOX_BYOC.channelDefinition}`
            );
            expect(out.line('✔', 'BYOC agent events (Pub/Sub API)')).toContain(
                `lets the bridge subscribe to ${byocEnv(world.emulators.byoc)['SF_BYOC_EVENT']}`
            );
            expect(out.line('✔', 'Enhanced Chat deployment')).toBeUndefined();
            expect(out.text).not.toContain('PRIVATE KEY');
            // The Salesforce login check uses the same JWT bearer flow (SF_AUTH=jwt).
            expect(out.line('✔', 'Salesforce login')).toBeDefined();
        });

        it('names the channel definition when the Interaction Service refuses it', async () => {
            const { code, out } = await runDoctor({
                ...world.env,
                ...byocEnv(world.emulators.byoc),
                SF_BYOC_CHANNEL_DEFINITION: 'Not_The_Definition'
            });

            expect(out.line('✘', 'BYOC channel (Interaction Service API)')).toContain('(HTTP 403, code 10005)');
            expect(out.text).toContain('fix: check SF_BYOC_CHANNEL_DEFINITION');
            expect(code).toBe(1);
        });

        it('names the platform event when the org has none by that name', async () => {
            const { code, out } = await runDoctor({
                ...world.env,
                ...byocEnv(world.emulators.byoc),
                SF_BYOC_EVENT: '/event/Not_Deployed__e'
            });

            expect(out.line('✘', 'BYOC agent events (Pub/Sub API)')).toContain(
                'the org has no platform event /event/Not_Deployed__e'
            );
            expect(out.text).toContain('fix: deploy force-app/byoc');
            expect(code).toBe(1);
        });

        it('says when the Pub/Sub API does not answer', async () => {
            const { code, out } = await runDoctor({
                ...world.env,
                ...byocEnv(world.emulators.byoc),
                SF_PUBSUB_URL: 'http://127.0.0.1:9'
            });

            expect(out.line('✘', 'BYOC agent events (Pub/Sub API)')).toContain('no answer from SF_PUBSUB_URL');
            expect(code).toBe(1);
        });
    });

    it('names the Haptik API token when Haptik rejects it', async () => {
        const { code, out } = await runDoctor({ ...world.env, HAPTIK_API_TOKEN: 'not-the-token' });

        expect(out.line('✘', 'Haptik API token')).toContain('rejected the credentials (HTTP 401)');
        expect(out.text).toContain('fix: check HAPTIK_CLIENT_ID / HAPTIK_API_TOKEN');
        // TRACT does not take that token: it has its own.
        expect(out.line('✔', 'Haptik credentials')).toBeDefined();
        expect(out.text).not.toContain('not-the-token');
        expect(code).toBe(1);
    });

    it('says exactly what Haptik refused when the TRACT token cannot be issued', async () => {
        const unknownCertificate = await runDoctor({
            ...world.env,
            HAPTIK_TRACT_CERT_UUID: '00000000-0000-4000-8000-000000000000'
        });
        expect(unknownCertificate.out.line('✘', 'TRACT token')).toContain(
            'certificate not accepted: ' + world.emulators.haptik.url
        );
        expect(unknownCertificate.out.text).toContain(
            'fix: Haptik does not accept the certificate: check HAPTIK_TRACT_CERT_UUID'
        );
        expect(unknownCertificate.out.line('-', 'Haptik credentials')).toContain('needs a TRACT token');
        expect(unknownCertificate.code).toBe(1);

        const otherKey = await runDoctor({ ...world.env, HAPTIK_TRACT_PRIVATE_KEY: testCertificate('ect-rsa.key') });
        expect(otherKey.out.line('✘', 'TRACT token')).toContain('signature does not verify');
        expect(otherKey.out.text).toContain(
            'fix: the signature does not verify: HAPTIK_TRACT_PRIVATE_KEY must be the key'
        );

        world.emulators.haptik.setClockOffset(-400_000);
        const skewed = await runDoctor();
        expect(skewed.out.line('✘', 'TRACT token')).toMatch(
            /timestamp outside the 150 s tolerance: .* this host's clock is 40\d s ahead of Haptik's/
        );
        expect(skewed.out.text).toContain("fix: the request's timestamp is more than 150 s away from Haptik's clock");
        for (const secret of SECRETS) expect(skewed.out.text).not.toContain(secret);
    });

    it('fails the inbound check without HAPTIK_HOOK_TOKEN', async () => {
        const { HAPTIK_HOOK_TOKEN: _dropped, ...env } = world.env;

        const { code, out } = await runDoctor(env);

        expect(out.line('✘', 'Inbound authentication')).toContain('HAPTIK_HOOK_TOKEN is not set');
        expect(out.line('-', 'TRACT hooks')).toContain('needs HAPTIK_HOOK_TOKEN');
        expect(code).toBe(1);
    });

    it('says the database is unreachable, without the password', async () => {
        const { code, out } = await runDoctor({
            ...world.env,
            DATABASE_URL: 'postgres://bridge:pw-7c1d9e@127.0.0.1:1/haptik'
        });

        expect(out.line('✘', 'Database')).toContain('Cannot connect to PostgreSQL at bridge@127.0.0.1:1/haptik');
        expect(out.text).toContain('fix: Check DATABASE_URL');
        expect(out.text).not.toContain('pw-7c1d9e');
        expect(code).toBe(1);
    });

    it('reports pending migrations without applying them, and a database of a newer bridge', async () => {
        const partialDir = await mkdtemp(path.join(tmpdir(), 'haptik-ops-db-'));
        try {
            const db = await openPgliteDb({ dataDir: partialDir });
            await migrate(db, [MIGRATIONS[0]!]);
            await db.close();

            const pending = await runDoctor({ ...world.env, BRIDGE_DATA_DIR: partialDir });
            const later = MIGRATIONS.slice(1).map((m) => `${m.version} ${m.name}`);
            expect(pending.out.line('✔', 'Database')).toContain(
                `${later.length} migration(s) not applied yet (${later.join(', ')})`
            );

            const reopened = await openPgliteDb({ dataDir: partialDir });
            const applied = await reopened.query<{ version: number }>('SELECT version FROM schema_migrations');
            expect(applied.rows.map((r) => Number(r.version))).toEqual([1]);
            await reopened.query(`INSERT INTO schema_migrations (version, name) VALUES (999, 'from-the-future')`);
            await reopened.close();

            const newer = await runDoctor({ ...world.env, BRIDGE_DATA_DIR: partialDir });
            expect(newer.out.line('✘', 'Database')).toContain('was migrated by a newer bridge (schema versions 999');
            expect(newer.code).toBe(1);
        } finally {
            await removeDataDir(partialDir);
        }
    });

    it('says a fresh embedded database will be created, without creating it', async () => {
        const freshDir = path.join(dataDir, 'not-yet');

        const { out } = await runDoctor({ ...world.env, BRIDGE_DATA_DIR: freshDir });

        expect(out.line('✔', 'Database')).toContain('does not exist yet');
        expect(existsSync(freshDir)).toBe(false);
    });

    it('lists hooks that are missing or point elsewhere, and how to register them', async () => {
        const missing = await runDoctor();
        expect(missing.out.line('✘', 'TRACT hooks')).toBe(
            '✘ TRACT hooks: not registered: message/receive, collection_state/incomplete, collection_state/complete'
        );
        expect(missing.out.text).toContain(`fix: run: npm run register-hooks -- --bridge-url ${BRIDGE_URL}`);
        expect(missing.code).toBe(1);

        await registerHooks(['--bridge-url', 'https://old-bridge.example.com'], world.env, captureOutput());
        const elsewhere = await runDoctor();
        expect(elsewhere.out.line('✘', 'TRACT hooks')).toContain(
            'pointing elsewhere or without the current key: message/receive -> https://old-bridge.example.com/haptik/tract/message?key=<HAPTIK_HOOK_TOKEN>'
        );
        expect(elsewhere.code).toBe(1);
    });

    it('skips the hook check with a note when no bridge URL is given', async () => {
        const { code, out } = await runDoctor(world.env, []);

        expect(out.line('-', 'TRACT hooks')).toContain('give --bridge-url');
        expect(code).toBe(0);
    });

    it('takes the bridge URL from BRIDGE_PUBLIC_URL', async () => {
        const { out } = await runDoctor({ ...world.env, BRIDGE_PUBLIC_URL: `${BRIDGE_URL}/` }, []);

        expect(out.line('✘', 'TRACT hooks')).toContain('not registered');
    });

    it('prints the configuration problems when the environment is incomplete', async () => {
        const { SF_CLIENT_ID: _dropped, ...env } = world.env;

        const { code, out } = await runDoctor(env);

        expect(out.line('✘', 'Configuration')).toContain('configuration problem');
        expect(out.text).toContain('SF_CLIENT_ID is missing');
        expect(code).toBe(1);
    });

    it('rejects a bridge URL that is not http(s)', async () => {
        const { code, out } = await runDoctor(world.env, ['--bridge-url', 'bridge.example.com']);

        expect(out.text).toContain('is not an http(s) URL');
        expect(code).toBe(2);
    });
});
