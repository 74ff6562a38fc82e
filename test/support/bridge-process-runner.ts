import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { BridgeProcessOptions } from '../../scripts/bridge-process';

/**
 * Builds scripts/bridge-process.ts (and what it imports) with the project's TypeScript into a
 * temporary folder, and runs it as a child process that a test may SIGKILL.
 */
const ROOT = path.resolve(__dirname, '..', '..');

export function compileBridgeProcess(): Promise<string> {
    return compileScript('bridge-process.ts');
}

/**
 * Builds one of scripts/ (and what it imports) into a fresh folder; answers the built file's path. `under`
 * is where that folder goes (default the system's temporary directory): the demo's emulators find their
 * certificates and proto relative to a build one level below the project, as in dist/.
 */
export async function compileScript(file: string, under = tmpdir()): Promise<string> {
    const outDir = await mkdtemp(path.join(under, `${path.basename(file, '.ts')}-`));
    const tsconfig = path.join(outDir, 'tsconfig.json');
    await writeFile(
        tsconfig,
        JSON.stringify({
            extends: path.join(ROOT, 'tsconfig.json'),
            compilerOptions: {
                noEmit: false,
                outDir,
                rootDir: ROOT,
                sourceMap: false,
                types: ['node'],
                typeRoots: [path.join(ROOT, 'node_modules', '@types')],
                incremental: false
            },
            files: [path.join(ROOT, 'scripts', file)],
            include: []
        })
    );
    await promisify(execFile)(
        process.execPath,
        [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', tsconfig],
        {
            cwd: ROOT,
            maxBuffer: 16 * 1024 * 1024
        }
    );
    return path.join(outDir, 'scripts', file.replace(/\.ts$/, '.js'));
}

export interface BridgeProcess {
    url: string;
    child: ChildProcess;
    /** stderr so far (for failure messages). */
    stderr(): string;
    kill(signal: NodeJS.Signals): Promise<void>;
}

export function startBridgeProcess(
    entry: string,
    options: BridgeProcessOptions,
    timeoutMs = 30_000
): Promise<BridgeProcess> {
    const child = spawn(process.execPath, [entry], {
        cwd: ROOT,
        // The build lives in a temporary folder: its packages come from the project's node_modules.
        env: {
            PATH: process.env['PATH'] ?? '',
            NODE_PATH: path.join(ROOT, 'node_modules'),
            BRIDGE_PROCESS_OPTIONS: JSON.stringify(options)
        },
        stdio: ['ignore', 'pipe', 'pipe']
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const kill = async (signal: NodeJS.Signals): Promise<void> => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited;
    };
    return new Promise<BridgeProcess>((resolve, reject) => {
        const timer = setTimeout(() => {
            void kill('SIGKILL');
            reject(new Error(`bridge process did not start within ${timeoutMs} ms: ${stderr}`));
        }, timeoutMs);
        child.stdout.on('data', (chunk: Buffer) => {
            stdout += chunk.toString('utf8');
            const match = /READY (\S+)/.exec(stdout);
            if (match?.[1] !== undefined) {
                clearTimeout(timer);
                resolve({ url: match[1], child, stderr: () => stderr, kill });
            }
        });
        child.once('exit', (code, signal) => {
            clearTimeout(timer);
            reject(new Error(`bridge process exited (${code ?? signal}) before it was ready: ${stderr}`));
        });
    });
}
