import { asBridgeError } from '../../core/errors';
import type { BotContextMessage, CrmMatch, HandoverTrigger } from '../../core/handover/bot-context';
import { historySender } from '../../core/transcript';
import { listMessages } from '../../store/message-log';
import type { HandoverContext } from './context';

/**
 * Where the bot context of a new chat comes from: the CRM record matching the user, and the conversation
 * so far (Haptik's chat history, else the bridge's own message log). Neither may stop a handover: a
 * failure is logged and the context goes without it.
 */
export async function crmMatch(ctx: HandoverContext, trigger: HandoverTrigger): Promise<CrmMatch | undefined> {
    if (ctx.customerLookup === undefined || trigger.source !== 'integration') return undefined;
    try {
        const answer = await ctx.customerLookup.lookup({
            user: {
                auth_id: trigger.user.auth_id ?? undefined,
                user_name: trigger.user.user_name ?? undefined,
                user_id: trigger.user.user_id
            },
            user_details: trigger.user_details,
            conversation_details: trigger.conversation_details,
            entities: Object.fromEntries(
                Object.entries(trigger.entities ?? {}).map(([name, values]) => [name, [...values]])
            )
        });
        const details = answer.user_details;
        if (details['crm_found'] !== true || typeof details['crm_id'] !== 'string') return undefined;
        const name = details['name'];
        return {
            objectType: typeof details['crm_object'] === 'string' ? details['crm_object'] : 'Contact',
            id: details['crm_id'],
            ...(typeof name === 'string' && name !== '' ? { name } : {})
        };
    } catch (error) {
        ctx.logger.warn(
            { code: asBridgeError(error, 'bridge_crm_lookup_failed').code },
            'CRM match for a handover failed'
        );
        return undefined;
    }
}

export async function recentMessages(
    ctx: HandoverContext,
    trigger: HandoverTrigger,
    conversationKey: string
): Promise<BotContextMessage[]> {
    const limit = ctx.settings.recentMessages;
    if (limit === 0) return [];
    // A TRACT trigger names no user: the name remembered from integration calls or TRACT's user API.
    const userName =
        (trigger.user.user_name ?? '').trim() ||
        ((await ctx.userNames?.nameOf(trigger.user.user_id).catch(() => undefined)) ?? '');
    if (userName !== '') {
        try {
            const history = await ctx.haptik.getChatHistory({ userName, conversationNo: trigger.conversationNo });
            return history
                .map((entry) => ({ entry, role: historySender(entry.sender).role }))
                .filter(({ entry, role }) => role !== 'system' && entry.plainText.trim() !== '')
                .slice(-limit)
                .map(({ entry, role }) => ({
                    sender: role === 'user' ? 'user' : role === 'bot' ? 'bot' : 'agent',
                    text: entry.plainText,
                    at: (entry.at ?? ctx.clock.now()).toISOString()
                }));
        } catch (error) {
            ctx.logger.warn(
                { code: asBridgeError(error, 'bridge_haptik_unavailable').code },
                'bot history for a handover could not be read; using the bridge log'
            );
        }
    }
    const logged = await listMessages(ctx.db, conversationKey, { limit });
    return logged
        .filter((m) => m.sender !== 'system')
        .map((m) => ({
            sender: m.sender === 'user' ? 'user' : m.sender === 'agent' ? 'agent' : 'bot',
            text: m.text,
            at: m.createdAt.toISOString()
        }));
}
