// `npm run preview`: serves the built preview (npm run preview:build) on http://127.0.0.1:4173/.
// Usage: node dist/scripts/preview.js [--port N]
import { existsSync } from 'node:fs';
import { startPreviewServer } from './preview-server';

const portFlag = process.argv.indexOf('--port');
const port = portFlag === -1 ? 4173 : Number(process.argv[portFlag + 1]);

async function main(): Promise<void> {
    if (!existsSync('preview/dist/app.js')) {
        console.error('preview/dist/app.js is missing: run npm run preview:build first');
        process.exitCode = 1;
        return;
    }
    const server = await startPreviewServer({ root: process.cwd(), port });
    console.log(`Haptik Bot Context preview: ${server.url}`);
    console.log(`Other states: ${server.url}?scenario=case  ?scenario=empty  ?scenario=malformed`);
    const stop = (): void => {
        void server.close().then(() => process.exit(0));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
}

void main();
