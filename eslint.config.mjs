// Lint for both worlds: type-checked TypeScript rules for the bridge, its tests and scripts;
// Salesforce's LWC rules for the components. The core stays free of transport and vendor code.
import { defineConfig, globalIgnores } from 'eslint/config';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const lwcRecommended = require('@salesforce/eslint-config-lwc/recommended');
const lwcRecommendedTs = require('@salesforce/eslint-config-lwc/recommended-ts');

export default defineConfig([
    globalIgnores([
        'node_modules/**',
        'dist/**',
        'demo-*/**',
        'data/**',
        'coverage/**',
        '.sf/**',
        '.sfdx/**',
        'jest.config.js',
        'preview/dist/**',
        '.artifacts/**'
    ]),
    {
        files: ['bridge/**/*.ts', 'test/**/*.ts', 'scripts/**/*.ts'],
        extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
        languageOptions: {
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
            globals: { ...globals.node }
        },
        rules: {
            '@typescript-eslint/no-floating-promises': 'error',
            '@typescript-eslint/switch-exhaustiveness-check': 'error',
            '@typescript-eslint/consistent-type-imports': 'error',
            '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
            'no-console': 'error'
        }
    },
    {
        // The pure core: no HTTP framework, no Salesforce client, no database, no adapters, no env or clock.
        files: ['bridge/src/core/**/*.ts'],
        rules: {
            'no-restricted-imports': [
                'error',
                {
                    patterns: [
                        {
                            group: ['express', 'express/*'],
                            message: 'The core must not import Express; adapters live in http/.'
                        },
                        {
                            group: ['@jsforce/*', 'jsforce', 'jsforce/*'],
                            message: 'The core must not import jsforce; adapters live in salesforce/.'
                        },
                        {
                            group: ['pg', '@electric-sql/*'],
                            message: 'The core must not import a database driver; adapters live in store/.'
                        },
                        {
                            group: ['undici', 'node:http', 'node:https', 'http', 'https'],
                            message: 'The core does no I/O.'
                        },
                        {
                            group: [
                                '../http/*',
                                '../salesforce/*',
                                '../store/*',
                                '../haptik/*',
                                '../config/*',
                                '../observability/*'
                            ],
                            message: 'The core must not depend on adapters.'
                        }
                    ]
                }
            ],
            'no-restricted-globals': ['error', { name: 'fetch', message: 'The core does no I/O.' }],
            'no-restricted-properties': [
                'error',
                {
                    object: 'process',
                    property: 'env',
                    message: 'Configuration is parsed once in config/ and passed in.'
                },
                { object: 'Date', property: 'now', message: 'Take the time from a Clock port.' }
            ]
        }
    },
    {
        files: ['test/**/*.ts', 'scripts/**/*.ts'],
        rules: { 'no-console': 'off' }
    },
    {
        files: ['**/*.test.ts'],
        rules: {
            '@typescript-eslint/no-non-null-assertion': 'off',
            '@typescript-eslint/unbound-method': 'off'
        }
    },
    {
        files: ['force-app/**/lwc/**/*.js'],
        extends: [lwcRecommended]
    },
    {
        // LWC sources in TypeScript: babel-parsed, so type-only syntax trips core scope rules that tsc covers.
        files: ['lwc-src/**/*.ts'],
        extends: [lwcRecommendedTs],
        rules: { 'no-undef': 'off', 'no-unused-vars': 'off', 'no-restricted-globals': 'off' }
    },
    {
        files: ['force-app/test/jest-mocks/**/*.js', 'jest-sa11y-setup.js'],
        languageOptions: { globals: { ...globals.node, ...globals.jest } }
    },
    {
        files: ['preview/**/*.{js,mjs}'],
        languageOptions: { globals: { ...globals.browser, ...globals.node } }
    },
    {
        files: ['force-app/**/lwc/**/__tests__/**/*.js'],
        extends: [lwcRecommended],
        rules: { '@lwc/lwc/no-unexpected-wire-adapter-usages': 'off' },
        languageOptions: { globals: { ...globals.node, ...globals.jest } }
    }
]);
