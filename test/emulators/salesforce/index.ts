/** The Salesforce emulator for tests, the demo and `npm run emulators`. */
export { startSalesforceEmulator } from './emulator';
export type {
    ApiCallCounters,
    CaseAssignmentRule,
    ApiError,
    InjectedFailure,
    RequestLogEntry,
    SalesforceEmulator,
    SalesforceEmulatorOptions,
    SfRecord,
    ValidationFailure
} from './emulator';
export { generateTestKeyPair } from './keys';
export type { TestKeyPair } from './keys';
export { SoqlError, decodeStringLiteral } from './soql-engine';
export { KEY_PREFIXES, HAPTIK_CASE_FIELDS, makeId, toId18 } from './schema';
export { grantsOf, shippedIntegrationUser, INTEGRATION_GROUP, INTEGRATION_PERMISSION_SETS } from './access';
export type { IntegrationUserAccess } from './access';
