/**
 * An integration answer as Haptik takes it (docs/bot-builder/integrations/integration-parameters.md):
 * `user_details` values are strings ("Value in User Details schema expects data to be string type"), and
 * `conversation_details` + `user_details` together stay within 500 characters. The services answer with
 * typed values; this is the last step before the answer leaves the bridge, for every integration route.
 *
 * Values: a string as it is, a boolean as "true"/"false", a number as its decimal text, an object or array
 * as its JSON; null and undefined are left out. The same for `conversation_details`.
 *
 * Budget: the size is the length of the two maps as JSON, the way they travel. Entries are kept in this
 * order while they fit, and an entry that does not fit is left out (a later, shorter one may still fit):
 * every `conversation_details` entry (the handover id), then `user_details` in DETAIL_PRIORITY order, then
 * the other `user_details` keys (the mapping file's extra lookup fields) in the order the service gave them.
 */
export const INTEGRATION_DETAILS_BUDGET = 500;

/** The documented order in which user_details keys are kept when the budget is short. */
export const DETAIL_PRIORITY: readonly string[] = [
    'crm_found',
    'crm_error',
    'case_number',
    'case_pending',
    'case_error',
    'crm_object',
    'crm_id',
    'case_id',
    'first_name',
    'name',
    'account_name',
    'phone',
    'email',
    'crm_match_count'
];

export interface IntegrationAnswerLike {
    conversation_details: Record<string, unknown>;
    user_details: Record<string, unknown>;
}

/** A detail value as Haptik stores it; undefined for a value that is left out. */
export function detailString(value: unknown): string | undefined {
    if (value === null || value === undefined) return undefined;
    if (typeof value === 'string') return value;
    if (typeof value === 'boolean' || typeof value === 'number' || typeof value === 'bigint') return String(value);
    return JSON.stringify(value);
}

export interface FittedDetails {
    conversation_details: Record<string, string>;
    user_details: Record<string, string>;
    /** Keys left out for the budget (`conversation_details.<key>` / `user_details.<key>`), for the log. */
    leftOut: string[];
}

export function fitDetails(
    conversation: Record<string, unknown>,
    user: Record<string, unknown>,
    budget = INTEGRATION_DETAILS_BUDGET
): FittedDetails {
    const fitted: FittedDetails = { conversation_details: {}, user_details: {}, leftOut: [] };
    // The size of JSON.stringify(conversation_details) + JSON.stringify(user_details), kept as entries are added:
    // `{}` each, plus per entry its `"key":"value"` and a comma after the first.
    const count = { conversation_details: 0, user_details: 0 };
    let size = 4;
    const userKeys = Object.keys(user);
    const ordered = [
        ...DETAIL_PRIORITY.filter((key) => userKeys.includes(key)),
        ...userKeys.filter((key) => !DETAIL_PRIORITY.includes(key))
    ];
    const entries: Array<readonly ['conversation_details' | 'user_details', string, unknown]> = [
        ...Object.keys(conversation).map((key) => ['conversation_details', key, conversation[key]] as const),
        ...ordered.map((key) => ['user_details', key, user[key]] as const)
    ];
    // Keys are unique within each map (Object.keys of each input), so an entry only ever adds.
    for (const [map, key, raw] of entries) {
        const value = detailString(raw);
        if (value === undefined) continue;
        const grows = JSON.stringify(key).length + 1 + JSON.stringify(value).length + (count[map] > 0 ? 1 : 0);
        if (size + grows > budget) {
            fitted.leftOut.push(`${map}.${key}`);
            continue;
        }
        fitted[map][key] = value;
        count[map] += 1;
        size += grows;
    }
    return fitted;
}

/** The answer with string details within the budget; `leftOut` names what did not fit. */
export function toHaptikAnswer<T extends IntegrationAnswerLike>(
    answer: T
): { answer: Omit<T, keyof IntegrationAnswerLike> & FittedDetailsOnly; leftOut: string[] } {
    const { leftOut, ...details } = fitDetails(answer.conversation_details, answer.user_details);
    return { answer: { ...answer, ...details }, leftOut };
}

type FittedDetailsOnly = Omit<FittedDetails, 'leftOut'>;
