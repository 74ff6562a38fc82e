#!/usr/bin/env bash
# Deploys the Haptik package to an org you have already authorised, then sets up the integration user and agents.
# Usage: scripts/deploy-org.sh [--messaging] [--legacy-chat] [--byoc] [--skip-psl] <org-alias> [integration-username] [agent-username ...]
#   scripts/deploy-org.sh my-org                                               Case part only (any Service Cloud org)
#   scripts/deploy-org.sh --messaging my-org haptik.bridge@acme.com            + Enhanced Chat part, integration user set up
#   scripts/deploy-org.sh --messaging my-org haptik.bridge@acme.com a@acme.com + Haptik_Agent(_Messaging) to each agent
#   --messaging    also deploy force-app/messaging (needs Messaging for In-App and Web: MessagingSession)
#   --legacy-chat  also deploy force-app/legacy-chat (needs legacy Chat: LiveChatTranscript)
#   --byoc         also deploy force-app/byoc (Bring Your Own Channel's platform event; use with --messaging)
#   --skip-psl     the integration user has a full Salesforce licence, not the Salesforce Integration one
# Authorise first: sf org login web --alias my-org (add --instance-url https://test.salesforce.com for a sandbox).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
dirs=(force-app/main)
integration_sets=(Haptik_Integration)
agent_sets=(Haptik_Agent)
skip_psl=false
while [ $# -gt 0 ]; do
    case "$1" in
        --messaging) dirs+=(force-app/messaging); integration_sets+=(Haptik_Integration_Messaging); agent_sets+=(Haptik_Agent_Messaging) ;;
        --legacy-chat) dirs+=(force-app/legacy-chat); agent_sets+=(Haptik_Agent_Legacy_Chat) ;;
        --byoc) dirs+=(force-app/byoc) ;;
        --skip-psl) skip_psl=true ;;
        -h | --help) usage ;;
        -*) echo "unknown option $1" >&2; usage ;;
        *) break ;;
    esac
    shift
done
[ $# -ge 1 ] || usage
org="$1"
integration_user="${2:-}"
shift $(( $# < 2 ? $# : 2 ))

export SF_DISABLE_TELEMETRY=true SF_SKIP_NEW_VERSION_CHECK=true
sf_cli="node_modules/.bin/sf"
[ -x "$sf_cli" ] || sf_cli="sf"
sf() { "$sf_cli" "$@"; }
# One value from a SOQL query (empty when no row), through sf's JSON output.
query_value() {
    sf data query --query "$1" --target-org "$org" --json |
        node -e 'let s="";process.stdin.on("data",(c)=>(s+=c)).on("end",()=>{const r=JSON.parse(s).result.records[0];process.stdout.write(r?String(r.Id):"")})'
}
soql_text() { printf "'%s'" "$(printf '%s' "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/\\\\'/g")"; }

echo "=== Checking that the deployed component matches its TypeScript source"
node scripts/check-lwc-build.mjs

source_args=()
for dir in "${dirs[@]}"; do source_args+=(--source-dir "$dir"); done
echo "=== Deploying ${dirs[*]} to $org"
sf project deploy start "${source_args[@]}" --target-org "$org" --wait 30

if [ -n "$integration_user" ]; then
    if [ "$skip_psl" = false ]; then
        # A Salesforce Integration user (profile Minimum Access - API Only Integrations) can only be given a permission
        # set with object access once it holds the Salesforce API Integration permission set licence.
        echo "=== Assigning the Salesforce API Integration permission set licence to $integration_user"
        if ! out="$(sf org assign permsetlicense --name SalesforceAPIIntegrationPsl --on-behalf-of "$integration_user" --target-org "$org" 2>&1)"; then
            echo "$out" >&2
            if ! grep -qi 'already' <<<"$out"; then
                echo "ERR the licence could not be assigned. A user with a full Salesforce licence does not need it: run again with --skip-psl." >&2
                exit 1
            fi
        fi
        echo "$out"
    fi
    for set in "${integration_sets[@]}"; do
        echo "=== Assigning $set to $integration_user"
        sf org assign permset --name "$set" --on-behalf-of "$integration_user" --target-org "$org"
    done
    # The Haptik Connector Cases sharing rule shares the bridge's Cases with this group (Private Case sharing).
    echo "=== Adding $integration_user to the public group Haptik Integration Users"
    group_id="$(query_value "SELECT Id FROM Group WHERE DeveloperName = 'Haptik_Integration_Users' AND Type = 'Regular'")"
    user_id="$(query_value "SELECT Id FROM User WHERE Username = $(soql_text "$integration_user")")"
    [ -n "$group_id" ] && [ -n "$user_id" ] || { echo "ERR group or user not found" >&2; exit 1; }
    member_id="$(query_value "SELECT Id FROM GroupMember WHERE GroupId = '$group_id' AND UserOrGroupId = '$user_id'")"
    if [ -z "$member_id" ]; then
        sf data create record --sobject GroupMember --values "GroupId=$group_id UserOrGroupId=$user_id" --target-org "$org"
    else
        echo "already a member"
    fi
fi

for agent in "$@"; do
    for set in "${agent_sets[@]}"; do
        echo "=== Assigning $set to $agent"
        sf org assign permset --name "$set" --on-behalf-of "$agent" --target-org "$org"
    done
done

echo "=== Done. Place the Haptik Bot Context component on the Case, Messaging Session or Chat Transcript pages (docs/admin-guide.md, 1.4)."
