// `npm run check:lwc-build`: the committed component .js must be exactly what tsc makes of lwc-src/
// today (Salesforce deploys the .js, reviewers read the .ts), and the LWC compiler must accept it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { transformSync } from '@lwc/compiler';

const SRC = 'lwc-src';
const OUT = 'force-app/main/default/lwc';
const walk = (dir) =>
    readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) return name === '__tests__' ? [] : walk(path);
        return [path];
    });

const fresh = mkdtempSync(join(tmpdir(), 'haptik-lwc-build-'));
let problems = 0;
const fail = (message) => {
    problems += 1;
    console.error(`ERR ${message}`);
};
try {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.lwc.json', '--outDir', fresh], {
        stdio: 'inherit'
    });
    const compiled = walk(fresh).map((file) => relative(fresh, file));
    for (const file of compiled) {
        const committed = join(OUT, file);
        if (!existsSync(committed)) {
            fail(`${committed} is missing: run npm run build:lwc and commit the output`);
        } else if (readFileSync(committed, 'utf8') !== readFileSync(join(fresh, file), 'utf8')) {
            fail(`${committed} differs from a fresh compile of ${SRC}/: run npm run build:lwc and commit the output`);
        }
    }
    // A .js in a bundle that has TypeScript sources must come from one of them.
    const tsBundles = readdirSync(SRC).filter((name) => statSync(join(SRC, name)).isDirectory());
    for (const bundle of tsBundles) {
        for (const file of walk(join(OUT, bundle)).filter((f) => f.endsWith('.js'))) {
            if (!compiled.includes(relative(OUT, file))) fail(`${file} has no TypeScript source in ${SRC}/${bundle}/`);
        }
    }
    // The platform compiles the bundle again; catch what it would reject (decorators down-levelled, bad templates).
    for (const file of walk(OUT).filter((f) => /\.(js|html|css)$/.test(f))) {
        const [namespace, name] = ['c', relative(OUT, file).split('/')[0]];
        const source = readFileSync(file, 'utf8');
        try {
            const result = transformSync(source, file, { namespace, name });
            for (const d of result.warnings ?? []) {
                if (d.level <= 1) fail(`${file}: ${d.message}`);
            }
            if (/__decorate|__esDecorate/.test(source))
                fail(`${file}: decorators were down-levelled; LWC needs them as written`);
        } catch (error) {
            fail(`${file}: ${error.message}`);
        }
    }
} finally {
    rmSync(fresh, { recursive: true, force: true });
}
console.log(
    problems === 0 ? 'lwc build ok: committed .js matches a fresh compile' : `${problems} lwc build problem(s)`
);
process.exitCode = problems === 0 ? 0 : 1;
