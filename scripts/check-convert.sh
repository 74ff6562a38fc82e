#!/usr/bin/env bash
# `npm run check:convert`: `sf project convert source` must turn force-app into a deployable
# metadata folder offline, with every component we ship and none of the TypeScript or tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export SF_DISABLE_TELEMETRY=true SF_SKIP_NEW_VERSION_CHECK=true
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

node_modules/.bin/sf project convert source --root-dir force-app --output-dir "$out/mdapi" >"$out/convert.log" 2>&1 \
    || { cat "$out/convert.log" >&2; exit 1; }

missing=0
for member in Case.Haptik_Conversation_Key__c Case.Haptik_Event_Key__c Case.Haptik_User_Id__c \
    Case.Haptik_Channel__c Case.Haptik_Bot_Context__c Case.Haptik_Transcript__c Case.Chatbot_Cases \
    haptikBotContext Haptik_Integration Haptik_Agent; do
    grep -q "<members>$member</members>" "$out/mdapi/package.xml" || { echo "ERR package.xml lacks $member" >&2; missing=1; }
done
if find "$out/mdapi" \( -name '*.ts' -o -name '__tests__' -o -name 'jest-mocks' \) | grep -q .; then
    echo "ERR the deploy payload holds TypeScript or tests:" >&2
    find "$out/mdapi" \( -name '*.ts' -o -name '__tests__' -o -name 'jest-mocks' \) >&2
    missing=1
fi
[ "$missing" -eq 0 ] && echo "sf project convert source ok: $(grep -c '<members>' "$out/mdapi/package.xml") members"
exit "$missing"
