// `npm run check:metadata`: validates every package directory of sfdx-project.json offline, together.
import { readFileSync } from 'node:fs';
import { validateMetadata } from './validate-metadata';

interface SfdxProject {
    packageDirectories: { path: string; default?: boolean }[];
    sourceApiVersion?: string;
}

const project = JSON.parse(readFileSync('sfdx-project.json', 'utf8')) as SfdxProject;
const dirs = project.packageDirectories.map((d) => d.path);
const defaultDir = project.packageDirectories.find((d) => d.default === true)?.path;
const problems = validateMetadata(dirs, {
    ...(project.sourceApiVersion ? { apiVersion: project.sourceApiVersion } : {}),
    ...(defaultDir ? { defaultPackageDir: defaultDir } : {})
});
for (const problem of problems) {
    console.error(`ERR ${problem.file}: ${problem.message}`);
}
console.log(problems.length === 0 ? `metadata ok (${dirs.join(', ')})` : `${problems.length} metadata problem(s)`);
process.exitCode = problems.length === 0 ? 0 : 1;
