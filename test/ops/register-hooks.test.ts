import { loadConfig } from '../../bridge/src/config/env';
import { tractCallOptions } from '../../bridge/src/haptik/tract-auth';
import { silentLogger } from '../../bridge/src/observability/logger';
import { registerHooks } from '../../scripts/register-hooks';
import { SANDBOX_CREDENTIALS } from '../emulators/sandbox';
import { SECRETS, captureOutput, startOpsWorld, withoutTractSigning } from './ops-harness';
import type { Captured, OpsWorld } from './ops-harness';

const BRIDGE_URL = 'https://bridge.example.com';
const KEY = `?key=${SANDBOX_CREDENTIALS.hookToken}`;
/** How the tools print a hook URL: the key's name, never the key. */
const SHOWN = '?key=<HAPTIK_HOOK_TOKEN>';

const EXPECTED_HOOKS = [
    { category: 'message', subcategory: 'receive', url: `${BRIDGE_URL}/haptik/tract/message${KEY}` },
    { category: 'collection_state', subcategory: 'incomplete', url: `${BRIDGE_URL}/haptik/tract/event${KEY}` },
    { category: 'collection_state', subcategory: 'complete', url: `${BRIDGE_URL}/haptik/tract/event${KEY}` }
];

describe('npm run register-hooks against the Haptik emulator', () => {
    let world: OpsWorld;

    beforeEach(async () => {
        // The tool never opens the database; the folder is only a valid setting.
        world = await startOpsWorld('./data-not-opened');
    });

    afterEach(async () => {
        await world.close();
    });

    async function run(
        args: string[],
        env: Record<string, string> = world.env
    ): Promise<{ code: number; out: Captured }> {
        const out = captureOutput();
        const code = await registerHooks(args, env, out);
        return { code, out };
    }

    /** A TRACT token, issued the way the bridge issues it. */
    async function tractToken(): Promise<string> {
        const options = tractCallOptions(loadConfig(world.env).haptik, { logger: silentLogger() });
        return options.bearer.token();
    }

    const registerCalls = (): number =>
        world.emulators.haptik.calls.filter((c) => c.path === '/tract/hooks/register/').length;

    it('registers every hook the bridge serves and prints the table', async () => {
        const { code, out } = await run(['--bridge-url', `${BRIDGE_URL}/`]);

        expect(code).toBe(0);
        expect(world.emulators.haptik.hooks).toEqual(EXPECTED_HOOKS);
        expect(out.text).toContain(`+ registered message/receive -> ${BRIDGE_URL}/haptik/tract/message${SHOWN}`);
        expect(out.text).toContain(
            `+ registered collection_state/incomplete -> ${BRIDGE_URL}/haptik/tract/event${SHOWN}`
        );
        const table = out.text.split('\n').filter((l) => l.startsWith('message ') || l.startsWith('collection_state'));
        expect(table).toHaveLength(3);
        expect(table.find((l) => l.startsWith('message '))).toMatch(
            /^message\s+receive\s+https:\/\/bridge\.example\.com\/haptik\/tract\/message\?key=<HAPTIK_HOOK_TOKEN>\s+user's message to the agent$/
        );
        // Registered through TRACT with an issued token, not the Business Manager token.
        const register = world.emulators.haptik.calls.find((c) => c.path === '/tract/hooks/register/')!;
        expect(register.headers.authorization).not.toBe(`Bearer ${SANDBOX_CREDENTIALS.haptikApiToken}`);
        expect(world.emulators.haptik.tractTokensIssued).toBe(1);
        for (const secret of SECRETS) expect(out.text).not.toContain(secret);
    });

    it('is idempotent: a second run registers nothing', async () => {
        await run(['--bridge-url', BRIDGE_URL]);
        const before = registerCalls();

        const { code, out } = await run(['--bridge-url', BRIDGE_URL]);

        expect(code).toBe(0);
        expect(registerCalls()).toBe(before);
        expect(out.text).toContain(`= message/receive already points at ${BRIDGE_URL}/haptik/tract/message${SHOWN}`);
        expect(out.text).not.toContain('registered');
    });

    it('updates a hook that points elsewhere and says so, leaving other tools hooks alone', async () => {
        await run(['--bridge-url', 'https://old-bridge.example.com']);
        const token = await tractToken();
        await fetch(`${world.emulators.haptik.url}/tract/hooks/register/`, {
            method: 'POST',
            headers: {
                'client-id': world.env['HAPTIK_CLIENT_ID']!,
                Authorization: `Bearer ${token}`,
                'Content-Type': 'application/json'
            },
            body: JSON.stringify({
                category: 'user_events',
                subcategory: 'create_user',
                url: 'https://crm.example.com/u'
            })
        });

        const { code, out } = await run(['--bridge-url', BRIDGE_URL]);

        expect(code).toBe(0);
        expect(out.text).toContain(
            `~ updated message/receive: it pointed at https://old-bridge.example.com/haptik/tract/message${SHOWN}, now ${BRIDGE_URL}/haptik/tract/message${SHOWN}`
        );
        expect(world.emulators.haptik.hooks).toEqual(expect.arrayContaining(EXPECTED_HOOKS));
        expect(world.emulators.haptik.hooks).toContainEqual({
            category: 'user_events',
            subcategory: 'create_user',
            url: 'https://crm.example.com/u'
        });
        expect(out.text).toMatch(/user_events\s+create_user\s+https:\/\/crm\.example\.com\/u\s+not used by the bridge/);
    });

    it('shows the plan and changes nothing with --dry-run', async () => {
        await run(['--bridge-url', 'https://old-bridge.example.com']);
        const before = registerCalls();

        const { code, out } = await run(['--bridge-url', BRIDGE_URL, '--dry-run']);

        expect(code).toBe(0);
        expect(registerCalls()).toBe(before);
        expect(out.text).toContain('(dry run, nothing is changed)');
        expect(out.text).toContain(
            `would update message/receive: it pointed at https://old-bridge.example.com/haptik/tract/message${SHOWN}, now ${BRIDGE_URL}/haptik/tract/message${SHOWN}`
        );
        expect(out.text).toMatch(/message\s+receive\s+https:\/\/old-bridge\.example\.com\S+\s+POINTS ELSEWHERE/);
    });

    it('names the Haptik credentials when Haptik rejects the token (TRACT without token issue)', async () => {
        const { code, out } = await run(['--bridge-url', BRIDGE_URL], {
            ...withoutTractSigning(world.env),
            HAPTIK_API_TOKEN: 'wrong-token'
        });

        expect(code).toBe(1);
        expect(out.text).toContain('Haptik rejected the credentials: check HAPTIK_CLIENT_ID / HAPTIK_API_TOKEN.');
        expect(out.text).not.toContain('wrong-token');
        expect(world.emulators.haptik.hooks).toHaveLength(0);
    });

    it('registers with HAPTIK_API_TOKEN where TRACT issues no tokens (HAPTIK_TRACT_* unset)', async () => {
        const plain = await startOpsWorld('./data-not-opened', { tract: false });
        try {
            const out = captureOutput();
            const code = await registerHooks(['--bridge-url', BRIDGE_URL], withoutTractSigning(plain.env), out);

            expect(code).toBe(0);
            expect(plain.emulators.haptik.hooks).toEqual(EXPECTED_HOOKS);
            const register = plain.emulators.haptik.calls.find((c) => c.path === '/tract/hooks/register/')!;
            expect(register.headers.authorization).toBe(`Bearer ${SANDBOX_CREDENTIALS.haptikApiToken}`);
        } finally {
            await plain.close();
        }
    });

    it('says what Haptik refused when the TRACT token cannot be issued', async () => {
        const { code, out } = await run(['--bridge-url', BRIDGE_URL], {
            ...world.env,
            HAPTIK_TRACT_CERT_UUID: '00000000-0000-4000-8000-000000000000'
        });

        expect(code).toBe(1);
        expect(out.text).toContain('Haptik refused to issue a TRACT token (HTTP 400: invalid SignatureCertUUID');
        expect(out.text).toContain('check HAPTIK_TRACT_CERT_UUID');
        expect(world.emulators.haptik.hooks).toHaveLength(0);
    });

    it('refuses to register hooks without HAPTIK_HOOK_TOKEN', async () => {
        const { HAPTIK_HOOK_TOKEN: _dropped, ...env } = world.env;

        const { code, out } = await run(['--bridge-url', BRIDGE_URL], env);

        expect(code).toBe(1);
        expect(out.text).toContain('HAPTIK_HOOK_TOKEN is not set');
        expect(registerCalls()).toBe(0);
    });

    it('re-registers a hook that carries an old key, without printing either key', async () => {
        await run(['--bridge-url', BRIDGE_URL], { ...world.env, HAPTIK_HOOK_TOKEN: 'an-old-hook-token-0123456789' });

        const { code, out } = await run(['--bridge-url', BRIDGE_URL]);

        expect(code).toBe(0);
        expect(out.text).toContain(
            `~ updated message/receive: it pointed at ${BRIDGE_URL}/haptik/tract/message?key=<another key>, now ${BRIDGE_URL}/haptik/tract/message${SHOWN}`
        );
        expect(out.text).not.toContain('an-old-hook-token');
        expect(world.emulators.haptik.hooks).toEqual(EXPECTED_HOOKS);
    });

    it('takes the URL from BRIDGE_PUBLIC_URL and notes a plain-http URL', async () => {
        const { code, out } = await run([], { ...world.env, BRIDGE_PUBLIC_URL: 'http://10.0.0.5:3000' });

        expect(code).toBe(0);
        expect(out.text).toContain('Note: http://10.0.0.5:3000 is not https');
        expect(world.emulators.haptik.hooks.map((h) => h.url)).toContain(
            `http://10.0.0.5:3000/haptik/tract/message${KEY}`
        );
    });

    it('asks for the bridge URL when none is given', async () => {
        const { code, out } = await run([]);

        expect(code).toBe(2);
        expect(out.text).toContain('The bridge URL is missing.');
        expect(out.text).toContain('usage: register-hooks --bridge-url');
        expect(registerCalls()).toBe(0);
    });
});
