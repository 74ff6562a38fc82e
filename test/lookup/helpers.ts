import { integrationRequest } from '../emulators/haptik/haptik-sender';
import type { Sandbox } from '../emulators/sandbox';

/** A signed customer lookup through the bridge, as a Haptik bot's integration node sends it. */
export interface LookupAnswer {
    status: boolean;
    response: string[];
    conversation_details: Record<string, unknown>;
    user_details: Record<string, unknown>;
}

export async function lookup(
    sandbox: Sandbox,
    input: { userDetails?: Record<string, unknown>; authId?: string; entities?: Record<string, string> }
): Promise<LookupAnswer> {
    const result = await sandbox.send.customer(
        integrationRequest({
            authId: input.authId ?? '',
            userDetails: input.userDetails ?? {},
            ...(input.entities ? { entities: input.entities } : {})
        })
    );
    if (result.status !== 200) throw new Error(`lookup answered HTTP ${result.status}: ${JSON.stringify(result.body)}`);
    return result.body as LookupAnswer;
}

/** Salesforce error codes the emulator answered since its last reset (MALFORMED_QUERY, INVALID_FIELD, …). */
export function salesforceErrors(sandbox: Sandbox): string[] {
    return sandbox.salesforce.requests.flatMap((r) => (r.errorCode === undefined ? [] : [r.errorCode]));
}
