// `npm run check:metadata`: validates every package directory of sfdx-project.json offline.
import { readFileSync } from 'node:fs';
import { validateMetadata } from './validate-metadata';

interface SfdxProject {
    packageDirectories: { path: string }[];
    sourceApiVersion?: string;
}

const project = JSON.parse(readFileSync('sfdx-project.json', 'utf8')) as SfdxProject;
let count = 0;
for (const { path } of project.packageDirectories) {
    const problems = validateMetadata(path, project.sourceApiVersion ? { apiVersion: project.sourceApiVersion } : {});
    for (const problem of problems) {
        console.error(`ERR ${problem.file}: ${problem.message}`);
    }
    count += problems.length;
}
console.log(count === 0 ? 'metadata ok' : `${count} metadata problem(s)`);
process.exitCode = count === 0 ? 0 : 1;
