import { agentBriefing } from '../../core/handover/bot-context';
import type { BotContextV1 } from '../../core/handover/bot-context';
import { getConversation } from '../../store/conversations';
import type { Queryable } from '../../store/db';
import type { HandoverSession } from '../../store/handover-sessions';
import type { HandoverContext } from './context';

/**
 * The agent's briefing: what the bot and the user said before the handover, from the bot context stored
 * with the conversation when the chat was opened. Undefined when there is nothing to brief.
 */
export async function briefingOf(
    ctx: HandoverContext,
    q: Queryable,
    session: HandoverSession
): Promise<string | undefined> {
    const conversation = await getConversation(q, session.conversationKey);
    const context = conversation?.context as unknown as BotContextV1 | undefined;
    if (context === undefined || context.version !== 1 || context.recentMessages.length === 0) return undefined;
    return agentBriefing(context, { header: ctx.settings.briefingHeader, ...ctx.names });
}

/** The briefing's message id on the chat (one per handover, so a retry never briefs twice). */
export function briefingMessageId(handoverId: string): string {
    return `briefing-${handoverId}`;
}
