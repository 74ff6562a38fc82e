/**
 * `npm run register-hooks -- --bridge-url https://bridge.example.com [--dry-run]`: registers every TRACT
 * hook this bridge serves with Haptik (POST /tract/hooks/register/), then lists Haptik's registrations
 * (GET /tract/hooks/list/) as a table. Idempotent: a hook already pointing at the bridge is left alone,
 * one pointing elsewhere is re-registered and said so. Every hook URL carries `?key=<HAPTIK_HOOK_TOKEN>`
 * (TRACT does not sign its hooks); the key is never printed. `--dry-run` prints the plan and changes nothing.
 * Reads the bridge's environment (as `npm start` does) and uses its Haptik settings: TRACT at
 * HAPTIK_TRACT_URL with an issued token when the HAPTIK_TRACT_* variables are set.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../bridge/src/config/env';
import { isBridgeError } from '../bridge/src/core/errors';
import { tractCallOptions } from '../bridge/src/haptik/tract-auth';
import { createTractHooksClient } from '../bridge/src/haptik/tract-hooks-client';
import { silentLogger } from '../bridge/src/observability/logger';
import {
    applyHookPlan,
    describePlanItem,
    formatHookTable,
    normaliseBridgeUrl,
    planHooks
} from '../bridge/src/ops/tract-hook-plan';
import type { HookPlanItem } from '../bridge/src/ops/tract-hook-plan';
import type { ScriptOutput } from './doctor';

const USAGE = 'usage: register-hooks --bridge-url https://bridge.example.com [--dry-run]   (or set BRIDGE_PUBLIC_URL)';

const consoleOutput: ScriptOutput = { log: (t) => console.log(t), error: (t) => console.error(t) };

export async function registerHooks(
    args: readonly string[],
    env: Readonly<Record<string, string | undefined>>,
    out: ScriptOutput = consoleOutput
): Promise<number> {
    let bridgeUrl: string;
    let dryRun: boolean;
    try {
        const { values } = parseArgs({
            args: [...args],
            options: {
                'bridge-url': { type: 'string' },
                'dry-run': { type: 'boolean' },
                help: { type: 'boolean' }
            },
            strict: true
        });
        if (values.help === true) {
            out.log(USAGE);
            return 0;
        }
        const raw = values['bridge-url'] ?? env['BRIDGE_PUBLIC_URL'];
        if (raw === undefined || raw.trim() === '') throw new Error('The bridge URL is missing.');
        bridgeUrl = normaliseBridgeUrl(raw);
        dryRun = values['dry-run'] === true;
    } catch (error) {
        out.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
        return 2;
    }

    let haptik;
    try {
        haptik = loadConfig(env).haptik;
    } catch (error) {
        out.error(isBridgeError(error) ? error.message : String(error));
        return 1;
    }
    const hookToken = haptik.hookToken;
    if (hookToken === undefined) {
        out.error(
            'HAPTIK_HOOK_TOKEN is not set. TRACT does not sign its hook calls, so the bridge accepts them only on URLs ' +
                'that carry ?key=<HAPTIK_HOOK_TOKEN>: set it (at least 24 characters, e.g. `openssl rand -hex 32`) for the ' +
                'bridge and for this tool, then run register-hooks again.'
        );
        return 1;
    }
    const client = createTractHooksClient(tractCallOptions(haptik, { logger: silentLogger() }));
    try {
        const plan = planHooks(bridgeUrl, await client.list(), hookToken);
        if (!bridgeUrl.startsWith('https://')) {
            out.log(`Note: ${bridgeUrl} is not https; Haptik calls webhooks over HTTPS only.`);
        }
        out.log(dryRun ? `Plan for ${bridgeUrl} (dry run, nothing is changed):` : `Hooks for ${bridgeUrl}:`);
        const report = (item: HookPlanItem): void => out.log(`  ${describePlanItem(item, dryRun, hookToken)}`);
        if (dryRun) plan.forEach(report);
        else await applyHookPlan(client, plan, report);
        out.log('');
        out.log(formatHookTable(await client.list(), hookToken, bridgeUrl));
        return 0;
    } catch (error) {
        const unauthorized = isBridgeError(error) && (error.details.status === 401 || error.details.status === 403);
        const refused = isBridgeError(error, 'bridge_haptik_tract_token_refused');
        out.error(
            unauthorized
                ? `Haptik rejected the credentials: check ${haptik.tract.auth === undefined ? 'HAPTIK_CLIENT_ID / HAPTIK_API_TOKEN' : 'HAPTIK_CLIENT_ID and the HAPTIK_TRACT_* settings'}.`
                : refused
                  ? error.message
                  : `Registering the hooks failed: ${error instanceof Error ? error.message : String(error)}`
        );
        return 1;
    }
}

if (require.main === module) {
    registerHooks(process.argv.slice(2), process.env).then(
        (code) => {
            process.exitCode = code;
        },
        (error: unknown) => {
            console.error(error instanceof Error ? error.message : String(error));
            process.exitCode = 1;
        }
    );
}
