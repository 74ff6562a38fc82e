import { startBridge } from './bridge';
import { loadConfig } from './config/env';
import { loadSettings } from './config/mapping-file';
import { isBridgeError } from './core/errors';
import { createLogger } from './observability/logger';
import { createMetrics } from './observability/metrics';

/** `npm start`: the only place that reads the process environment and handles signals. */
async function main(): Promise<void> {
    let config;
    let settings;
    try {
        config = loadConfig(process.env);
        settings = loadSettings(config.configFile);
    } catch (error) {
        // Configuration problems are for a person at a terminal: plain text, every problem at once.
        process.stderr.write(`${isBridgeError(error) ? error.message : String(error)}\n`);
        process.exitCode = 1;
        return;
    }
    const logger = createLogger({ level: config.logLevel });
    const bridge = await startBridge({ config, settings, logger, metrics: createMetrics({ defaultMetrics: true }) });

    const shutdown = (signal: string): void => {
        logger.info({ signal }, 'shutting down');
        bridge.stop().then(
            () => process.exit(0),
            (error: unknown) => {
                logger.error({ err: error }, 'shutdown failed');
                process.exit(1);
            }
        );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
    const code = isBridgeError(error) ? error.code : 'bridge_start_failed';
    process.stderr.write(
        `The bridge could not start (${code}): ${error instanceof Error ? error.message : String(error)}\n`
    );
    process.exit(1);
});
