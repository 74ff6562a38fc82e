/**
 * The file source behind `GET /files/{token}` (issue 18): a signed link names a handover and an attachment URL;
 * this opens that URL through the chat adapter with the handover's chat credentials. Which chat state belongs to
 * a handover is the composition root's to say (`loadChatState`), so this module knows no database.
 */
import { BridgeError } from '../core/errors';
import type { ChatAdapter, ChatSessionState } from '../core/handover/chat-port';
import type { FileSource, OpenedFile } from '../http/file-routes';

export interface ChatFileSourceDeps {
    adapter: ChatAdapter;
    /** The chat state of a handover, or undefined when it is unknown or its chat can no longer be reached. */
    loadChatState(handoverId: string): Promise<ChatSessionState | undefined>;
}

const gone = (reason: string): BridgeError =>
    new BridgeError('bridge_files_gone', 'The file is no longer available', {
        details: { reason, httpStatus: 410, retryable: false }
    });

export function createChatFileSource(deps: ChatFileSourceDeps): FileSource {
    return {
        async open(claims, signal): Promise<OpenedFile> {
            if (deps.adapter.openAttachment === undefined) throw gone('adapter_without_files');
            const state = await deps.loadChatState(claims.handoverId);
            if (state === undefined) throw gone('chat_unknown');
            const file = await deps.adapter.openAttachment(
                claims.handoverId,
                state,
                { url: claims.url, contentType: claims.contentType },
                signal
            );
            return {
                body: file.body,
                ...(file.contentType === undefined ? {} : { contentType: file.contentType }),
                ...(file.contentLength === undefined ? {} : { contentLength: file.contentLength })
            };
        }
    };
}
