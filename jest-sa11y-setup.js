// Adds @sa11y/jest's toBeAccessible() matcher to the LWC test project (axe rules, Salesforce's preset).
const { registerSa11yMatcher } = require('@sa11y/jest');

registerSa11yMatcher();
