// Jest runs CommonJS in a vm context where `import()` fails unless node runs with
// --experimental-vm-modules. PGlite's CommonJS build loads node built-ins with `await import("fs")`
// and the like; this transform turns those into `require`, so the embedded database opens under a
// plain `npx jest`. Only built-in module names are rewritten.
const { builtinModules } = require('node:module');
const { createHash } = require('node:crypto');

const BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
const DYNAMIC_IMPORT = /\bimport\(\s*"([^"]+)"\s*\)/g;

module.exports = {
    process(source) {
        // The bundle declares its own `var require` in places, so the module's require is kept aside.
        const body = source.replace(DYNAMIC_IMPORT, (call, name) =>
            BUILTINS.has(name) ? `Promise.resolve(__pgliteRequireBuiltin(${JSON.stringify(name)}))` : call
        );
        return { code: `const __pgliteRequireBuiltin = require;${body}` };
    },
    getCacheKey(source, filename) {
        return createHash('sha256').update('pglite-jest-transform-2').update(filename).update(source).digest('hex');
    }
};
