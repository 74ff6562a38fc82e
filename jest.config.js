// One runner for both worlds: LWC components (sfdx-lwc-jest) and the bridge (ts-jest).
const { jestConfig } = require('@salesforce/sfdx-lwc-jest/config');

module.exports = {
    passWithNoTests: true,
    testTimeout: 30000,
    projects: [
        {
            ...jestConfig,
            displayName: 'lwc',
            rootDir: __dirname,
            roots: ['<rootDir>/force-app'],
            modulePathIgnorePatterns: ['<rootDir>/.localdevserver'],
            // The default stub of lightning/navigation records nothing; ours remembers where a click went.
            moduleNameMapper: {
                '^lightning/navigation$': '<rootDir>/force-app/test/jest-mocks/lightning/navigation'
            },
            setupFilesAfterEnv: [...jestConfig.setupFilesAfterEnv, '<rootDir>/jest-sa11y-setup.js']
        },
        {
            displayName: 'bridge',
            rootDir: __dirname,
            testEnvironment: 'node',
            roots: ['<rootDir>/test', '<rootDir>/bridge'],
            testMatch: ['**/*.test.ts'],
            transform: {
                '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
                // PGlite's CommonJS build uses import() for node built-ins, which jest's vm rejects.
                '/@electric-sql/pglite/dist/.+\\.cjs$': '<rootDir>/test/support/pglite-jest-transform.cjs'
            },
            transformIgnorePatterns: ['/node_modules/(?!@electric-sql/pglite/)'],
            moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json']
        }
    ]
};
