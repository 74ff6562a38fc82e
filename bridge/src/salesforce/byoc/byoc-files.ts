/**
 * A user's file to the agent on BYOC: one `AttachmentInteraction` (interaction-client.ts). The API needs the size
 * before the bytes, so a file whose host gave none is measured in a private temporary file first; types outside
 * the documented list and files over the limit are refused here as final errors, which send the agent a link and
 * a note instead (services/handover/relay-files.ts).
 */
import { BridgeError, isBridgeError } from '../../core/errors';
import type { OutgoingFile } from '../../core/handover/chat-port';
import { spoolFile } from '../../files/file-spool';
import type { SpooledFile } from '../../files/file-spool';
import { toChatUuid } from '../enhanced-chat/chat-ids';
import { MAX_ATTACHMENT_BYTES } from './interaction-client';
import type { InteractionClient } from './interaction-client';

export async function sendByocFile(
    client: Pick<InteractionClient, 'sendAttachment'>,
    chat: { handoverId: string; endUserId: string; attachmentTypes: ReadonlySet<string>; at: number },
    file: OutgoingFile,
    signal?: AbortSignal
): Promise<void> {
    const { handoverId } = chat;
    const tooLarge = (size: number | undefined) =>
        new BridgeError('bridge_chat_file_too_large', 'the file is larger than BYOC attachments may be', {
            details: { handoverId, retryable: false, ...(size === undefined ? {} : { size }) }
        });
    if (!chat.attachmentTypes.has(file.contentType.toLowerCase())) {
        throw new BridgeError('bridge_chat_file_type_refused', 'BYOC attachments do not take this file type', {
            details: { handoverId, retryable: false }
        });
    }
    if (file.contentLength !== undefined && file.contentLength > MAX_ATTACHMENT_BYTES) {
        throw tooLarge(file.contentLength);
    }
    let spooled: SpooledFile | undefined;
    let contentLength = file.contentLength;
    let body = file.body;
    if (contentLength === undefined) {
        spooled = await spoolFile(file.body, MAX_ATTACHMENT_BYTES);
        if (spooled === undefined) throw tooLarge(undefined);
        contentLength = spooled.size;
        body = spooled.open();
    }
    try {
        if (contentLength === 0) {
            throw new BridgeError('bridge_chat_file_empty', 'an empty file cannot be attached', {
                details: { handoverId, retryable: false }
            });
        }
        await client.sendAttachment(
            chat.endUserId,
            {
                id: toChatUuid('message', file.messageId),
                fileName: file.fileName,
                contentType: file.contentType,
                contentLength,
                body,
                ...(file.text === undefined ? {} : { text: file.text }),
                at: chat.at
            },
            signal
        );
    } catch (error) {
        // 10073: an earlier try of this same file was taken (its answer was lost).
        if (isBridgeError(error, 'bridge_chat_rejected') && error.details['code'] === 10073) return;
        throw error;
    } finally {
        await spooled?.dispose();
    }
}
