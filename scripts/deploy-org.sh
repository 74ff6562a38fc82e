#!/usr/bin/env bash
# Deploys force-app to an org you have already authorised and assigns the Haptik permission sets.
# Usage: scripts/deploy-org.sh <org-alias> [integration-username] [agent-username ...]
#   scripts/deploy-org.sh my-org                                   deploy only
#   scripts/deploy-org.sh my-org haptik.bridge@acme.com            + Haptik_Integration to the bridge's user
#   scripts/deploy-org.sh my-org haptik.bridge@acme.com a@acme.com + Haptik_Agent to each agent
# Authorise first: sf org login web --alias my-org (add --instance-url https://test.salesforce.com for a sandbox).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ]; then
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
org="$1"
integration_user="${2:-}"
shift $(( $# < 2 ? $# : 2 ))

export SF_DISABLE_TELEMETRY=true SF_SKIP_NEW_VERSION_CHECK=true
sf_cli="node_modules/.bin/sf"
[ -x "$sf_cli" ] || sf_cli="sf"

echo "=== Checking that the deployed component matches its TypeScript source"
node scripts/check-lwc-build.mjs

echo "=== Deploying force-app to $org"
"$sf_cli" project deploy start --source-dir force-app --target-org "$org" --wait 30

if [ -n "$integration_user" ]; then
    echo "=== Assigning Haptik_Integration to $integration_user"
    "$sf_cli" org assign permset --name Haptik_Integration --on-behalf-of "$integration_user" --target-org "$org"
fi

for agent in "$@"; do
    echo "=== Assigning Haptik_Agent to $agent"
    "$sf_cli" org assign permset --name Haptik_Agent --on-behalf-of "$agent" --target-org "$org"
done

echo "=== Done. Place the Haptik Bot Context component on the Case, Messaging Session and Chat Transcript pages (README: For Salesforce admins)."
