/**
 * A bridge in a process of its own, for tests that kill it (SIGKILL) and start it again, and for the
 * handover benchmark (its memory and CPU are then the bridge's alone). The options
 * come as JSON in BRIDGE_PROCESS_OPTIONS (environment as an operator sets it, mapping file content,
 * database schema, timer tuning); once it listens it prints `READY <url>` on stdout. Compiled by the
 * test with tsc (test/support/bridge-process-runner.ts) or by `npm run build` (dist/scripts/bridge-process.js).
 */
import { startBridge } from '../bridge/src/bridge';
import type { BridgeOptions, ByocChatTuning, EnhancedChatTuning, LegacyChatTuning } from '../bridge/src/bridge';
import { loadConfig } from '../bridge/src/config/env';
import { parseSettings } from '../bridge/src/config/mapping-file';
import { createLogger, logDestination } from '../bridge/src/observability/logger';
import { createMetrics } from '../bridge/src/observability/metrics';
import { countingDb, newStatementCount } from '../bridge/src/store/counting-db';
import { serveBenchStats } from './bench-process-stats';

export interface BridgeProcessOptions {
    env: Record<string, string>;
    mapping?: unknown;
    databaseSchema?: string;
    outbox?: BridgeOptions['outbox'];
    chatTuning?: EnhancedChatTuning;
    legacyChatTuning?: LegacyChatTuning;
    byocTuning?: ByocChatTuning;
    /** Chat stream heartbeat lease and tick (multi-instance tests shorten them). */
    streams?: BridgeOptions['streams'];
    logLevel?: 'silent' | 'error' | 'warn' | 'info' | 'debug';
    /** Where log lines go (default stdout); a benchmark sends the production logger's lines to /dev/null. */
    logFile?: string;
    /** Count the database statements (a benchmark asks for the count with its stats). */
    countStatements?: boolean;
}

async function main(): Promise<void> {
    const options = JSON.parse(process.env['BRIDGE_PROCESS_OPTIONS'] ?? '{}') as BridgeProcessOptions;
    const config = loadConfig(options.env);
    const statements = newStatementCount();
    const kinds = new Map<string, number>();
    if (options.countStatements === true) {
        statements.onStatement = (sql) => {
            const kind = sql.replace(/\s+/g, ' ').trim().slice(0, 100);
            kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        };
    }
    const bridge = await startBridge({
        config,
        settings: parseSettings(options.mapping ?? {}),
        logger: createLogger({
            level: options.logLevel ?? 'silent',
            ...(options.logFile === undefined ? {} : { destination: logDestination(options.logFile) })
        }),
        metrics: createMetrics(),
        host: '127.0.0.1',
        ...(options.databaseSchema === undefined ? {} : { databaseSchema: options.databaseSchema }),
        ...(options.outbox === undefined ? {} : { outbox: options.outbox }),
        ...(options.chatTuning === undefined ? {} : { enhancedChat: options.chatTuning }),
        ...(options.legacyChatTuning === undefined ? {} : { legacyChat: options.legacyChatTuning }),
        ...(options.byocTuning === undefined ? {} : { byocChat: options.byocTuning }),
        ...(options.streams === undefined ? {} : { streams: options.streams }),
        ...(options.countStatements === true ? { instrumentDb: (db) => countingDb(db, statements) } : {})
    });
    // A benchmark forks this process with an IPC channel and asks it for its event-loop utilisation.
    serveBenchStats(() =>
        options.countStatements === true
            ? { dbStatements: statements.statements, dbStatementKinds: Object.fromEntries(kinds) }
            : {}
    );
    process.stdout.write(`READY ${bridge.url}\n`);
    process.once('SIGTERM', () => {
        void bridge.stop().then(() => process.exit(0));
    });
}

main().catch((error: unknown) => {
    process.stderr.write(
        `bridge process failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`
    );
    process.exit(1);
});
