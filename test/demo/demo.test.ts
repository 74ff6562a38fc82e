/**
 * The README's first quick-start command ends in `npm run demo`: the whole story (lookup, handover, a photo each
 * way, transcript Case) on the emulators, for each chat API. Each run must exit 0 with every step done; a
 * step that fails names itself in the output.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { compileScript } from '../support/bridge-process-runner';

const ROOT = path.resolve(__dirname, '..', '..');

describe('npm run demo', () => {
    let demo: string;
    let buildDir: string;

    beforeAll(async () => {
        demo = await compileScript('demo.ts', ROOT);
        buildDir = path.dirname(path.dirname(demo));
    }, 180_000);

    afterAll(async () => {
        if (buildDir !== undefined) await rm(buildDir, { recursive: true, force: true });
    });

    it.each(['enhanced', 'legacy', 'byoc'])(
        'tells the whole story on %s',
        async (chat) => {
            const { stdout } = await promisify(execFile)(process.execPath, [demo, '--chat', chat], {
                cwd: ROOT,
                env: { ...process.env, NO_COLOR: '1' },
                timeout: 120_000,
                maxBuffer: 16 * 1024 * 1024
            });
            expect(stdout).toContain('A photo each way');
            expect(stdout).toContain('the transcript lands on the same Case');
            expect(stdout.trim().split('\n').at(-1)).toBe('✔ Every step happened.');
        },
        150_000
    );
});
