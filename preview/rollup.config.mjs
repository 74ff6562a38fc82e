// Builds the browser preview: the compiled component from force-app (the same .js Salesforce gets)
// with LWC OSS, lightning-base-components and local stand-ins for the platform-only modules.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import lwc from '@lwc/rollup-plugin';
import replace from '@rollup/plugin-replace';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LWC_DIR = path.join(ROOT, 'force-app/main/default/lwc');
const STUBS = {
    'lightning/uiRecordApi': path.join(ROOT, 'preview/stubs/uiRecordApi.js'),
    'lightning/navigation': path.join(ROOT, 'preview/stubs/navigation.js')
};

const platformStubs = {
    name: 'platform-stubs',
    resolveId(id) {
        if (STUBS[id]) return STUBS[id];
        if (id.startsWith('@salesforce/schema/')) return '\0schema:' + id.slice('@salesforce/schema/'.length);
        return null;
    },
    load(id) {
        if (!id.startsWith('\0schema:')) return null;
        const [objectApiName, fieldApiName] = id.slice('\0schema:'.length).split('.');
        return `export default ${JSON.stringify({ objectApiName, fieldApiName })};`;
    }
};

// The SFDX layout has no namespace folder: map c/<name> to each bundle explicitly.
const cModules = readdirSync(LWC_DIR).map((name) => ({
    name: `c/${name}`,
    path: path.join(LWC_DIR, name, `${name}.js`)
}));

export default {
    input: path.join(ROOT, 'preview/src/main.js'),
    output: { dir: path.join(ROOT, 'preview/dist'), entryFileNames: 'app.js', format: 'esm' },
    plugins: [
        platformStubs,
        replace({
            preventAssignment: true,
            values: { 'process.env.NODE_ENV': '"production"', 'import.meta.env.SSR': 'false' }
        }),
        lwc({
            rootDir: ROOT,
            modules: [...cModules, { npm: 'lightning-base-components' }],
            enableDynamicComponents: true
        })
    ],
    onwarn(warning, warn) {
        if (warning.code === 'CIRCULAR_DEPENDENCY' || warning.code === 'THIS_IS_UNDEFINED') return;
        if ((warning.id ?? '').includes('node_modules/lightning-base-components')) return;
        warn(warning);
    }
};
