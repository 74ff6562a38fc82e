import { createHash } from 'node:crypto';
import { z } from 'zod';
import { isPlainId } from '../core/text';

/**
 * What Haptik sends to the bridge (contract §2, haptik.md §A3-§A5), as zod schemas and their types.
 * Liberal in what they accept: objects keep unknown keys, documented-but-unused fields are optional,
 * and ids may arrive as numbers or strings (they are normalised to strings). Strict only on what the
 * bridge needs to act.
 */

/**
 * Limits (docs/admin-guide.md, "What the bridge refuses"). Ids and event names key stored rows, event ids
 * and Salesforce keys (`<business>:<user>:<conversation>` must fit 255 characters), so they are refused
 * (400) when longer than MAX_ID_LENGTH or when they hold a control character or a lone surrogate:
 * changing an id would merge two users. Free text is capped at MAX_TEXT_LENGTH; a NUL or a lone surrogate
 * in it, or anywhere else in the body, is cleaned after the schema (dropped, U+FFFD) so the message is kept.
 */
export const MAX_ID_LENGTH = 100;
export const MAX_TEXT_LENGTH = 10_000;
/** user_name and auth_id name the user (history lookups, event ids of the webhook). */
export const MAX_USER_KEY_LENGTH = 255;
/** Entities a bot sends: a few names, a few values each. */
export const MAX_ENTITY_NAMES = 200;
export const MAX_ENTITY_VALUES = 100;

const plainId = z
    .string()
    .trim()
    .min(1)
    .max(MAX_ID_LENGTH)
    .refine(isPlainId, { message: 'has characters that are not allowed (control characters or lone surrogates)' });

/** Haptik ids (user_id, message_id, conversation_no, business_id) are numbers in some payloads, strings in others. */
const id = z
    .union([z.string(), z.number().int().nonnegative()])
    .transform((v) => String(v))
    .pipe(plainId);
/** Event names, TRACT categories: short words that select behaviour and key events. */
const name = plainId;
const optionalName = z.union([z.string().max(MAX_ID_LENGTH), z.number()]).nullish();
const shortText = z.string().max(MAX_ID_LENGTH).nullish();
const optionalText = z.string().max(MAX_TEXT_LENGTH).nullish();
const userKey = z.string().max(MAX_USER_KEY_LENGTH).nullish();
const jsonObject = z.record(z.string(), z.unknown());
/** Haptik sends `null` or leaves out the detail maps; readers always get an object. */
const detailMap = jsonObject.nullish().transform((v) => v ?? {});

// ---------------------------------------------------------------------------------------------
// Bot API webhook (haptik.md §A4)

export const webhookUserSchema = z.looseObject({
    auth_id: userKey,
    device_platform: optionalName,
    device_platform_name: optionalText,
    user_name: userKey,
    user_id: id.nullish(),
    phone_model: optionalText,
    os_version: optionalText,
    package_name: optionalText
});

export const webhookPayloadSchema = z
    .looseObject({
        version: optionalName,
        timestamp: optionalName,
        user: webhookUserSchema,
        business_id: id,
        business_name: optionalText,
        event_name: name,
        agent: z
            .looseObject({
                id: optionalName,
                name: optionalText,
                profile_image: optionalText,
                is_automated: z.boolean().nullish(),
                email: optionalText
            })
            .nullish(),
        message: z.looseObject({ id: id.nullish(), body: z.unknown() }).nullish(),
        data: z
            .looseObject({
                conversation_no: id.nullish(),
                collection_id: optionalName,
                conversation_identifier: optionalText,
                complete_chat_link: optionalText,
                completion_type: optionalText,
                completion_by: z.unknown().optional(),
                closing_categories: z.unknown().optional(),
                conversation_details: detailMap,
                user_details: detailMap
            })
            .nullish(),
        follow_up_details: z.unknown().optional()
    })
    .superRefine((payload, ctx) => {
        // A completed conversation becomes a transcript Case: the bridge needs its keys.
        if (payload.event_name !== 'webhook_conversation_complete') return;
        if (payload.data?.conversation_no == null) {
            ctx.addIssue({ code: 'custom', path: ['data', 'conversation_no'], message: 'is required' });
        }
        if (payload.user.user_name == null || payload.user.user_name === '') {
            ctx.addIssue({ code: 'custom', path: ['user', 'user_name'], message: 'is required' });
        }
    });

export type HaptikWebhookPayload = z.infer<typeof webhookPayloadSchema>;

// ---------------------------------------------------------------------------------------------
// TRACT hooks (haptik.md §A3)

export const tractMessageSchema = z.looseObject({
    user_id: id,
    message_id: id,
    conversation_number: id.nullish(),
    /** HSL serialised to a string; an object is accepted and serialised, so readers always get a string. */
    message_body: z.union([z.string(), jsonObject]).transform((v) => (typeof v === 'string' ? v : JSON.stringify(v))),
    sender: shortText,
    timestamp: optionalName,
    metadata: z.unknown().optional()
});

export type TractMessagePayload = z.infer<typeof tractMessageSchema>;

export const tractEventSchema = z.looseObject({
    conversation_number: id.nullish(),
    user_id: id,
    category: name,
    subcategory: name,
    /** Documented as a string; objects are accepted too. */
    metadata: z.unknown().optional()
});

export type TractEventPayload = z.infer<typeof tractEventSchema>;

// ---------------------------------------------------------------------------------------------
// Bot integration request and response (haptik.md §A5)

export const integrationEntitySchema = z.looseObject({
    entity_value: z.unknown(),
    detection: z.unknown().optional(),
    original_text: optionalText
});

export const integrationRequestSchema = z.looseObject({
    node: z.unknown().optional(),
    /** Newer Haptik docs name `node` `step` (integrationCallSchema reads it as `node`). */
    step: z.unknown().optional(),
    event: optionalText,
    user: z.looseObject({
        user_id: id,
        user_name: userKey,
        full_name: optionalText,
        device_platform: optionalName,
        language_code: shortText,
        auth_id: userKey,
        auth_code: optionalText
    }),
    conversation_no: id.nullish(),
    conversation_details: detailMap,
    user_details: detailMap,
    entities: z
        .record(z.string(), z.array(integrationEntitySchema).max(MAX_ENTITY_VALUES).nullish())
        .refine((entities) => Object.keys(entities).length <= MAX_ENTITY_NAMES, {
            message: `has more than ${MAX_ENTITY_NAMES} names`
        })
        .nullish()
        // fromEntries defines own keys: an entity named `__proto__` stays an entity, not a prototype.
        .transform((entities): Record<string, z.infer<typeof integrationEntitySchema>[]> =>
            Object.fromEntries(Object.entries(entities ?? {}).map(([name, values]) => [name, values ?? []]))
        ),
    env_variables: detailMap
});

/** The integration request of the routes: `step` stands in for an absent `node`. */
export const integrationCallSchema = integrationRequestSchema.transform((request) =>
    request.node === undefined && request.step !== undefined ? { ...request, node: request.step } : request
);

export type HaptikIntegrationRequest = z.infer<typeof integrationRequestSchema>;

/** What an integration URL answers (200 within 30 s); `response` holds texts or HSL JSON strings. */
export interface HaptikIntegrationResponse {
    status: boolean;
    response: string[];
    conversation_details: Record<string, unknown>;
    user_details: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// A user's upload inside a TRACT message body (issue 18). Haptik documents no upload format for TRACT, so these
// are the HSL shapes that can carry a file (haptik.md §A6), read by haptik/user-files.ts: every field optional,
// unknown fields kept, URLs bounded.

export const MAX_FILE_URL_LENGTH = 2048;
const fileUrl = z.string().trim().max(MAX_FILE_URL_LENGTH).nullish();

export const hslActionableSchema = z.looseObject({
    actionable_text: z.string().max(MAX_TEXT_LENGTH).nullish(),
    uri: z.string().max(MAX_ID_LENGTH).nullish(),
    payload: z.looseObject({ url: fileUrl }).nullish()
});

/** A carousel card (`thumbnail.image`, `actionables[]`) or, in a BUTTON, an actionable itself. */
export const hslItemSchema = hslActionableSchema.extend({
    thumbnail: z.looseObject({ image: fileUrl }).nullish(),
    title: z.string().max(MAX_TEXT_LENGTH).nullish(),
    actionables: z.array(z.unknown()).max(50).nullish()
});

export const hslElementSchema = z.looseObject({
    text: z.string().max(MAX_TEXT_LENGTH).nullish(),
    type: z.string().max(MAX_ID_LENGTH).nullish(),
    data: z
        .looseObject({
            items: z.array(z.unknown()).max(50).nullish(),
            /** Not in Haptik's HSL docs; seen in other chat tools' file messages, so read when present. */
            url: fileUrl,
            image: fileUrl,
            file_url: fileUrl,
            media_url: fileUrl,
            file_name: z.string().max(MAX_TEXT_LENGTH).nullish(),
            name: z.string().max(MAX_TEXT_LENGTH).nullish()
        })
        .nullish()
});

export type HslElement = z.infer<typeof hslElementSchema>;

// ---------------------------------------------------------------------------------------------
// Routes (contract §2)

export type HaptikRouteName = 'webhook' | 'tractMessage' | 'tractEvent' | 'customer' | 'caseEvent' | 'handover';

export interface HaptikRoutePayloads {
    webhook: HaptikWebhookPayload;
    tractMessage: TractMessagePayload;
    tractEvent: TractEventPayload;
    customer: HaptikIntegrationRequest;
    caseEvent: HaptikIntegrationRequest;
    handover: HaptikIntegrationRequest;
}

export const haptikRouteSchemas: { readonly [R in HaptikRouteName]: z.ZodType<HaptikRoutePayloads[R]> } = {
    webhook: webhookPayloadSchema,
    tractMessage: tractMessageSchema,
    tractEvent: tractEventSchema,
    customer: integrationCallSchema,
    caseEvent: integrationCallSchema,
    handover: integrationCallSchema
};

/**
 * The dedupe id of an inbound payload: Haptik retries a webhook it thinks failed (5 s, 25 s, …), and
 * a retry must be recognised as the same event. Ids are prefixed by kind, so a TRACT message and the
 * webhook about the same message never collide.
 *
 * - webhook `webhook_conversation_complete`: `webhook:conversation_complete:<conversation_no>:<user>`,
 *   one per conversation, because the transcript Case is per conversation whatever message carried it;
 * - other webhook events: `webhook:message:<message.id>`, else
 *   `webhook:<event_name>:<user>:<timestamp>` when Haptik sent no message id;
 * - TRACT message: `tract:message:<user_id>:<message_id>` (message ids are incremental; the user id
 *   guards against them being per-user);
 * - TRACT event: `tract:event:<user_id>:<conversation_number>:<category>:<subcategory>`; an event
 *   happens at most once per conversation (handing back to the bot completes the conversation, so the
 *   next request for an agent has a new conversation number);
 * - integration calls (`customer`, `caseEvent`, `handover`): `integration:<route>:<user_id>:<conversation_no>:<node>`,
 *   a visit key; Haptik does not retry them, handlers decide whether to use it (case creation uses
 *   its own key, see contract §2).
 *
 * `<user>` is `user_id`, else `user_name`, else `auth_id`.
 */
export function eventIdOf<R extends HaptikRouteName>(route: R, payload: HaptikRoutePayloads[R]): string {
    const eventId = composeEventId(route, payload);
    // The schema bounds every part but `node`; an id past an index's reach is kept unique by its hash.
    return eventId.length <= MAX_EVENT_ID_LENGTH
        ? eventId
        : `${eventId.slice(0, eventId.indexOf(':', eventId.indexOf(':') + 1))}:sha256:${createHash('sha256').update(eventId).digest('hex')}`;
}

const MAX_EVENT_ID_LENGTH = 500;

function composeEventId<R extends HaptikRouteName>(route: R, payload: HaptikRoutePayloads[R]): string {
    switch (route) {
        case 'webhook': {
            const p = payload as HaptikWebhookPayload;
            const user = p.user.user_id ?? p.user.user_name ?? p.user.auth_id ?? '-';
            if (p.event_name === 'webhook_conversation_complete') {
                return `webhook:conversation_complete:${p.data?.conversation_no ?? '-'}:${user}`;
            }
            if (p.message?.id != null) return `webhook:message:${p.message.id}`;
            return `webhook:${p.event_name}:${user}:${p.timestamp ?? '-'}`;
        }
        case 'tractMessage': {
            const p = payload as TractMessagePayload;
            return `tract:message:${p.user_id}:${p.message_id}`;
        }
        case 'tractEvent': {
            const p = payload as TractEventPayload;
            return `tract:event:${p.user_id}:${p.conversation_number ?? '-'}:${p.category}:${p.subcategory}`;
        }
        case 'customer':
        case 'caseEvent':
        case 'handover': {
            const p = payload as HaptikIntegrationRequest;
            const node = typeof p.node === 'string' || typeof p.node === 'number' ? String(p.node) : '-';
            return `integration:${route}:${p.user.user_id}:${p.conversation_no ?? '-'}:${node}`;
        }
        default: {
            const unreachable: never = route;
            throw new TypeError(`unknown Haptik route ${String(unreachable)}`);
        }
    }
}
