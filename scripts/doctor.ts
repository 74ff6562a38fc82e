/**
 * `npm run doctor [-- --bridge-url https://bridge.example.com]`: checks the operator's configuration (the
 * same environment and mapping file `npm start` reads) against Salesforce, the chat endpoint, Haptik and
 * the database, and prints a checklist with what to fix. Exit 0 when every check passed, 1 otherwise,
 * 2 on a usage error. Changes nothing anywhere. With the embedded database, stop the bridge first: one
 * data folder, one process.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../bridge/src/config/env';
import { loadSettings } from '../bridge/src/config/mapping-file';
import { isBridgeError } from '../bridge/src/core/errors';
import { silentLogger } from '../bridge/src/observability/logger';
import { formatChecklist, runDoctorChecks } from '../bridge/src/ops/doctor-checks';
import { normaliseBridgeUrl } from '../bridge/src/ops/tract-hook-plan';

const USAGE = 'usage: doctor [--bridge-url https://bridge.example.com]   (or set BRIDGE_PUBLIC_URL)';

export interface ScriptOutput {
    log(text: string): void;
    error(text: string): void;
}

const consoleOutput: ScriptOutput = { log: (t) => console.log(t), error: (t) => console.error(t) };

export async function doctor(
    args: readonly string[],
    env: Readonly<Record<string, string | undefined>>,
    out: ScriptOutput = consoleOutput,
    options: { timeoutMs?: number } = {}
): Promise<number> {
    let bridgeUrl: string | undefined;
    try {
        const { values } = parseArgs({
            args: [...args],
            options: { 'bridge-url': { type: 'string' }, help: { type: 'boolean' } },
            strict: true
        });
        if (values.help === true) {
            out.log(USAGE);
            return 0;
        }
        const raw = values['bridge-url'] ?? env['BRIDGE_PUBLIC_URL'];
        bridgeUrl = raw === undefined || raw.trim() === '' ? undefined : normaliseBridgeUrl(raw);
    } catch (error) {
        out.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
        return 2;
    }

    let config;
    let settings;
    try {
        config = loadConfig(env);
        settings = loadSettings(config.configFile);
    } catch (error) {
        // No configuration, nothing to check against: the same message `npm start` would print.
        out.log(`✘ Configuration: ${isBridgeError(error) ? error.message : String(error)}`);
        out.log('\n1 check(s) failed; fix the configuration, then run doctor again.');
        return 1;
    }
    const mapping = config.configFile === undefined ? 'no mapping file' : `mapping file ${config.configFile}`;
    out.log(`✔ Configuration: environment valid, ${mapping}, SF_CHAT_API=${config.salesforce.chat.api}`);
    const results = await runDoctorChecks({
        config,
        settings,
        bridgeUrl,
        logger: silentLogger(),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs })
    });
    out.log(formatChecklist(results));
    return results.some((r) => r.status === 'failed') ? 1 : 0;
}

if (require.main === module) {
    doctor(process.argv.slice(2), process.env).then(
        (code) => {
            process.exitCode = code;
        },
        (error: unknown) => {
            console.error(error instanceof Error ? error.message : String(error));
            process.exitCode = 1;
        }
    );
}
