import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../bridge/src/observability/logger';
import { openDb } from '../../bridge/src/store/open-db';
import type { ScriptOutput } from '../../scripts/doctor';
import { SANDBOX_CREDENTIALS, sandboxEnv, startEmulators } from '../emulators/sandbox';
import type { Emulators } from '../emulators/sandbox';

/**
 * The operator tools' world: the three emulators and the environment an operator would set for them,
 * on an embedded database folder. Scripts run in-process with their output captured.
 */
export interface OpsWorld {
    emulators: Emulators;
    env: Record<string, string>;
    close(): Promise<void>;
}

/** An embedded database folder, migrated as the bridge leaves it; remove it with removeDataDir. */
export async function migratedDataDir(): Promise<string> {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'haptik-ops-'));
    const db = await openDb({ url: undefined, dataDir }, silentLogger());
    await db.close();
    return dataDir;
}

export async function removeDataDir(dataDir: string): Promise<void> {
    await rm(dataDir, { recursive: true, force: true });
}

export async function startOpsWorld(
    dataDir: string,
    options: Parameters<typeof startEmulators>[0] = {}
): Promise<OpsWorld> {
    const emulators = await startEmulators(options);
    return {
        emulators,
        env: {
            ...sandboxEnv(emulators.salesforce.url, emulators.haptik.url),
            SF_SCRT_URL: emulators.chat.url,
            BRIDGE_DATA_DIR: dataDir
        },
        close: () => emulators.close()
    };
}

export interface Captured extends ScriptOutput {
    readonly text: string;
    /** The line starting with `mark title`, e.g. line('✘', 'Case fields'). */
    line(mark: string, title: string): string | undefined;
}

export function captureOutput(): Captured {
    const lines: string[] = [];
    return {
        log: (text) => lines.push(...text.split('\n')),
        error: (text) => lines.push(...text.split('\n')),
        get text() {
            return lines.join('\n');
        },
        line: (mark, title) => lines.find((l) => l.startsWith(`${mark} ${title}:`))
    };
}

/** Values that must never appear in what the tools print. */
export const SECRETS: readonly string[] = [
    SANDBOX_CREDENTIALS.sfClientSecret,
    SANDBOX_CREDENTIALS.haptikApiToken,
    SANDBOX_CREDENTIALS.webhookSecret,
    SANDBOX_CREDENTIALS.hookToken
];

/** The environment without the HAPTIK_TRACT_* signing settings: TRACT calls send HAPTIK_API_TOKEN. */
export function withoutTractSigning(env: Record<string, string>): Record<string, string> {
    const signing = ['CLIENT_ID', 'FQDN', 'PRIVATE_KEY', 'CERT_UUID', 'CERT_CHAIN_URL'].map((s) => `HAPTIK_TRACT_${s}`);
    return Object.fromEntries(Object.entries(env).filter(([key]) => !signing.includes(key)));
}
