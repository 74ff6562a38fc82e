import { createHash } from 'node:crypto';
import type { EnhancedChatEmulator } from '../emulators/enhanced-chat/enhanced-chat-emulator';
import type { HaptikEmulator } from '../emulators/haptik';

/**
 * What the attachment suites (issue 18) read on both sides: a user's photo as TRACT delivers it, what the agent
 * saw from the user in order (texts and files), what the user got from the agent in order (texts, images,
 * documents, with their signed links).
 */

/** A TRACT message whose body is an image card (how a channel's photo arrives; user-files.ts). */
export function photoMessage(
    userId: string,
    messageId: number,
    imageUrl: string,
    title: string
): Record<string, unknown> {
    return {
        user_id: userId,
        message_id: messageId,
        conversation_number: 1,
        message_body: JSON.stringify({
            text: '',
            type: 'CAROUSEL',
            data: {
                items: [{ thumbnail: { image: imageUrl }, title, sub_title: '', description: '', actionables: [] }]
            }
        }),
        sender: 'ceu',
        timestamp: '2026-11-25T10:01:00.000Z',
        metadata: ''
    };
}

/** The user's notice when a file went to the agent as a link (notices: fileSentAsLink, English). */
export const SENT_AS_LINK = (name: string): string =>
    `Your file ${name} could not be attached in the chat, so the agent received a link to it. Nothing is lost.`;

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

const BRIEFING = 'Conversation with the bot before this chat:';

interface StaticContent {
    formatType?: string;
    text?: string | null;
    attachments?: Array<{ name?: string }>;
}

/**
 * The end user's messages in a conversation as the agent sees them, in the order the chat took them (its
 * entries): a text as itself, an upload as `file <name>`; the briefing left out.
 */
export function userTimeline(chat: EnhancedChatEmulator, conversationId: string): string[] {
    return chat
        .events(conversationId)
        .filter((e) => e.type === 'CONVERSATION_MESSAGE' && e.data.conversationEntry.sender.role === 'EndUser')
        .map((e) => {
            const payload = JSON.parse(e.data.conversationEntry.entryPayload) as {
                abstractMessage?: { staticContent?: StaticContent };
            };
            const content = payload.abstractMessage?.staticContent ?? {};
            if (content.formatType === 'Attachments') {
                return `file ${(content.attachments ?? []).map((a) => a.name ?? '').join(', ')}`;
            }
            return content.text ?? '';
        })
        .filter((entry) => !entry.startsWith(BRIEFING));
}

export interface Delivery {
    /** The message id the bridge sent it under (`metadata.message_id`). */
    id: string;
    /** A text as itself, an agent's file as `image <title>` or `document <name>`. */
    what: string;
    /** A file's signed link. */
    link?: string | undefined;
}

/** Every message Haptik accepted for the user, in order, as the user sees them (a resend shows twice). */
export function deliveriesTo(haptik: HaptikEmulator, userId: string): Delivery[] {
    return haptik.messagesTo(userId).map((m) => {
        const hsl = m.hsl as {
            type?: string;
            text?: string;
            data?: { items?: Array<{ title?: string; thumbnail?: { image?: string }; payload?: { url?: string } }> };
        };
        const item = hsl.data?.items?.[0];
        const raw = (m.metadata as { message_id?: unknown } | undefined)?.message_id;
        const id = typeof raw === 'string' || typeof raw === 'number' ? String(raw) : '';
        if (hsl.type === 'CAROUSEL') return { id, what: `image ${item?.title ?? ''}`, link: item?.thumbnail?.image };
        if (hsl.type === 'BUTTON') return { id, what: `document ${hsl.text ?? ''}`, link: item?.payload?.url };
        return { id, what: m.text };
    });
}

/** Reads a signed link through one bridge (the link names BRIDGE_PUBLIC_URL; the test reaches the bridge directly). */
export async function openLink(bridgeUrl: string, link: string): Promise<{ status: number; body: Buffer }> {
    const response = await fetch(`${bridgeUrl}${new URL(link).pathname}`);
    return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}
