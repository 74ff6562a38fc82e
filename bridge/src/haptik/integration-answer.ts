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
    const size = (): number =>
        JSON.stringify(fitted.conversation_details).length + JSON.stringify(fitted.user_details).length;
    const userKeys = Object.keys(user);
    const ordered = [
        ...DETAIL_PRIORITY.filter((key) => userKeys.includes(key)),
        ...userKeys.filter((key) => !DETAIL_PRIORITY.includes(key))
    ];
    const entries: Array<readonly ['conversation_details' | 'user_details', string, unknown]> = [
        ...Object.keys(conversation).map((key) => ['conversation_details', key, conversation[key]] as const),
        ...ordered.map((key) => ['user_details', key, user[key]] as const)
    ];
    for (const [map, key, raw] of entries) {
        const value = detailString(raw);
        if (value === undefined) continue;
        fitted[map][key] = value;
        if (size() > budget) {
            delete fitted[map][key];
            fitted.leftOut.push(`${map}.${key}`);
        }
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
