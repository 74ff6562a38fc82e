#!/usr/bin/env bash
# `npm run check:convert`: `sf project convert source` must turn every package directory of sfdx-project.json
# into a deployable metadata folder offline, with every component we ship and none of the TypeScript or tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export SF_DISABLE_TELEMETRY=true SF_SKIP_NEW_VERSION_CHECK=true
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# What each package directory must hold (package.xml members).
declare -A expected=(
    [force-app/main]="Case.Haptik_Conversation_Key__c Case.Haptik_Event_Key__c Case.Haptik_User_Id__c
        Case.Haptik_Channel__c Case.Haptik_Bot_Context__c Case.Haptik_Transcript__c Case.Chatbot_Cases
        haptikBotContext Haptik_Integration Haptik_Agent Haptik_Integration_Users Case.Haptik_Connector_Cases"
    [force-app/messaging]="Haptik_Integration_Messaging Haptik_Agent_Messaging"
    [force-app/legacy-chat]="Haptik_Agent_Legacy_Chat"
    [force-app/byoc]="Haptik_Interaction__e Haptik_Interaction__e.EventType__c Haptik_Interaction__e.Payload__c"
)
# Objects only some orgs have: metadata naming one outside its own package directory fails the default deploy there
# (the component reads chat records by string field names, which an org without them simply leaves out).
optional_objects='MessagingSession|LiveChatTranscript|PersonEmail|PersonMobilePhone|IsPersonAccount'

dirs="$(node -e 'for (const d of require("./sfdx-project.json").packageDirectories) console.log(d.path)')"
missing=0
for dir in $dirs; do
    target="$out/$(basename "$dir")"
    node_modules/.bin/sf project convert source --source-dir "$dir" --output-dir "$target" >"$out/convert.log" 2>&1 \
        || { cat "$out/convert.log" >&2; exit 1; }
    [ -n "${expected[$dir]:-}" ] || { echo "ERR $dir: no expected members in scripts/check-convert.sh" >&2; missing=1; }
    for member in ${expected[$dir]:-}; do
        grep -q "<members>$member</members>" "$target/package.xml" || { echo "ERR $dir: package.xml lacks $member" >&2; missing=1; }
    done
    if find "$target" \( -name '*.ts' -o -name '__tests__' -o -name 'jest-mocks' \) | grep -q .; then
        echo "ERR $dir: the deploy payload holds TypeScript or tests:" >&2
        find "$target" \( -name '*.ts' -o -name '__tests__' -o -name 'jest-mocks' \) >&2
        missing=1
    fi
    if [ "$dir" = "force-app/main" ] && grep -rlE --include="*.xml" --include="*.object" --include="*.permissionset" --include="*-meta.xml" "$optional_objects" "$target" | grep -q .; then
        echo "ERR $dir: the default package names an object or field some orgs lack:" >&2
        grep -rnE --exclude="*.js" "$optional_objects" "$target" >&2
        missing=1
    fi
    [ "$missing" -eq 0 ] && echo "sf project convert source $dir ok: $(grep -c '<members>' "$target/package.xml") members"
done
exit "$missing"
