import { z } from 'zod';
import { DEFAULT_HANDOVER_SETTINGS, isRoutingPath } from '../core/handover/handover-settings';
import type { HandoverSettings } from '../core/handover/handover-settings';
import { DEFAULT_NOTICE_TEXTS } from '../core/handover/notices';
import type { NoticeTexts } from '../core/handover/notices';

/**
 * The mapping file's `handover` section (live-agent handover), e.g.
 *
 *     handover:
 *       endKeywords: [end chat, stop chat]
 *       noAgentTimeoutSeconds: 300
 *       waitNoticeIntervalSeconds: 60
 *       routingAttributes: { Haptik_Intent: intent, Customer_Email: user.email }
 *       legacyChat: { availabilityCheck: true, transcriptFields: { Haptik_Intent: [Haptik_Intent__c] } }
 *       notices:
 *         en: { agentJoined: "You are now chatting with {agent}." }
 *         hi: { agentJoined: "अब आप {agent} से बात कर रहे हैं।" }
 *
 * Every key is optional; missing ones keep the defaults of core/handover.
 */
const noticeText = z.string().min(1).max(1000);

const noticeTextsSchema = z
    .object({
        connecting: noticeText,
        alreadyConnected: noticeText,
        agentJoined: noticeText,
        agentLeft: noticeText,
        transfer: noticeText,
        transferTo: noticeText,
        noAgents: noticeText,
        chatEnded: noticeText,
        queueNext: noticeText,
        queueOneAhead: noticeText,
        queueFew: noticeText,
        queueLong: noticeText,
        waitUnknown: noticeText,
        fileSentAsLink: noticeText,
        agentFileUnavailable: noticeText,
        waitTiers: z
            .array(z.object({ upToSeconds: z.number().int().min(0).nullable(), text: noticeText }))
            .min(1)
            .max(10)
    })
    .partial();

const languageTag = z.string().regex(/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/, { error: 'is not a language tag' });

export const handoverSectionSchema = z
    .object({
        defaultLanguage: languageTag.default('en'),
        notices: z.record(languageTag, noticeTextsSchema).default({}),
        queueFewUpTo: z.number().int().min(1).max(100).default(5),
        waitNoticeIntervalSeconds: z.number().int().min(0).max(3600).default(60),
        endKeywords: z.array(z.string().trim().min(1).max(100)).min(1).max(20).default(['end chat']),
        noAgentTimeoutSeconds: z.number().int().min(1).max(86400).default(600),
        recentMessages: z.number().int().min(0).max(200).default(20),
        routingAttributes: z
            .record(
                z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,79}$/, { error: 'is not a pre-chat field name' }),
                z.string().refine(isRoutingPath, {
                    error: 'must be conversationKey, channel, intent, handoverReason, user.<name|email|phone|authId|language>, crm.<id|objectType|name>, details.<key> or entities.<name>'
                })
            )
            .default({}),
        threadControl: z
            .object({ requester: z.string().min(1).max(100), receiver: z.string().min(1).max(100) })
            .default(DEFAULT_HANDOVER_SETTINGS.threadControl),
        defaultReason: z.string().min(1).max(500).default(DEFAULT_HANDOVER_SETTINGS.defaultReason),
        briefingHeader: z.string().min(1).max(500).default(DEFAULT_HANDOVER_SETTINGS.briefingHeader),
        eventCase: z
            .object({
                subject: z.string().min(1).max(255).default(DEFAULT_HANDOVER_SETTINGS.eventCase.subject),
                description: z.string().min(1).max(32000).default(DEFAULT_HANDOVER_SETTINGS.eventCase.description),
                origin: z.string().min(1).max(255).default(DEFAULT_HANDOVER_SETTINGS.eventCase.origin),
                status: z.string().min(1).max(255).optional()
            })
            .default({
                subject: DEFAULT_HANDOVER_SETTINGS.eventCase.subject,
                description: DEFAULT_HANDOVER_SETTINGS.eventCase.description,
                origin: DEFAULT_HANDOVER_SETTINGS.eventCase.origin
            }),
        /** SF_CHAT_API=legacy only: the Visitor/Availability check and pre-chat values copied to the transcript. */
        legacyChat: z
            .object({
                availabilityCheck: z.boolean().default(true),
                transcriptFields: z
                    .record(
                        z.string().min(1).max(80),
                        z
                            .array(z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,79}$/, { error: 'is not a field name' }))
                            .max(10)
                    )
                    .default({})
            })
            .default({ availabilityCheck: true, transcriptFields: {} })
    })
    .default({
        defaultLanguage: 'en',
        notices: {},
        queueFewUpTo: 5,
        waitNoticeIntervalSeconds: 60,
        endKeywords: ['end chat'],
        noAgentTimeoutSeconds: 600,
        recentMessages: 20,
        routingAttributes: {},
        threadControl: DEFAULT_HANDOVER_SETTINGS.threadControl,
        defaultReason: DEFAULT_HANDOVER_SETTINGS.defaultReason,
        briefingHeader: DEFAULT_HANDOVER_SETTINGS.briefingHeader,
        eventCase: {
            subject: DEFAULT_HANDOVER_SETTINGS.eventCase.subject,
            description: DEFAULT_HANDOVER_SETTINGS.eventCase.description,
            origin: DEFAULT_HANDOVER_SETTINGS.eventCase.origin
        },
        legacyChat: { availabilityCheck: true, transcriptFields: {} }
    });

export type HandoverSection = z.infer<typeof handoverSectionSchema>;

export function handoverSettingsOf(section: HandoverSection): HandoverSettings {
    const texts: Record<string, Partial<NoticeTexts>> = {};
    for (const [language, partial] of Object.entries(section.notices)) {
        const own: Partial<NoticeTexts> = {};
        for (const [key, value] of Object.entries(partial) as Array<[keyof NoticeTexts, unknown]>) {
            if (value !== undefined) (own as Record<string, unknown>)[key] = value;
        }
        texts[language.toLowerCase().replace(/_/g, '-')] = own;
    }
    const defaultLanguage = section.defaultLanguage.toLowerCase().replace(/_/g, '-');
    texts[defaultLanguage] = { ...DEFAULT_NOTICE_TEXTS, ...texts[defaultLanguage] };
    return {
        notices: {
            defaultLanguage,
            texts,
            queueFewUpTo: section.queueFewUpTo,
            waitNoticeIntervalMs: section.waitNoticeIntervalSeconds * 1000
        },
        endKeywords: section.endKeywords,
        noAgentTimeoutMs: section.noAgentTimeoutSeconds * 1000,
        recentMessages: section.recentMessages,
        routingAttributes: section.routingAttributes,
        threadControl: section.threadControl,
        defaultReason: section.defaultReason,
        briefingHeader: section.briefingHeader,
        eventCase: {
            subject: section.eventCase.subject,
            description: section.eventCase.description,
            origin: section.eventCase.origin,
            ...(section.eventCase.status === undefined ? {} : { status: section.eventCase.status })
        },
        legacyChat: {
            availabilityCheck: section.legacyChat.availabilityCheck,
            transcriptFields: section.legacyChat.transcriptFields
        }
    };
}
