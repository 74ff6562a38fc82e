/**
 * The file source behind `GET /files/{token}` (issue 18): a signed link names a handover and an attachment URL;
 * this opens that URL through the chat adapter with the handover's chat credentials. Which chat state belongs to
 * a handover is the composition root's to say (`loadChatState`), so this module knows no database. The transcript
 * Case's files (BRIDGE_TRANSCRIPT_FILES=link) are opened the same way.
 */
import type { Readable } from 'node:stream';
import { BridgeError } from '../core/errors';
import type { ChatAdapter, ChatSessionState } from '../core/handover/chat-port';
import type { OpenedFile } from '../http/file-routes';
import { countBytes } from './byte-count';
import type { FileLinkClaims } from './file-links';

export interface ChatFileSourceDeps {
    adapter: ChatAdapter;
    /** The chat state of a handover, or undefined when it is unknown or its chat can no longer be reached. */
    loadChatState(handoverId: string): Promise<ChatSessionState | undefined>;
    /**
     * The size of an agent's file as the bridge learnt it streaming it (Content-Length, else the bytes counted
     * to the end): kept for the transcript. Called at most once per open; its failure is the callee's to handle.
     */
    onSize?: (file: { handoverId: string; attachmentId: string }, size: number) => void;
    /**
     * Called once the file is read (or could not be opened): the adapter may have taken the chat's session up again
     * to open it, which an ended chat no longer needs (its token would be renewed for nothing).
     */
    release?: (handoverId: string) => void;
}

/** Which file to open: a signed link's claims, or the same facts from the bridge's own file record. */
export type ChatFileRef = Pick<FileLinkClaims, 'handoverId' | 'attachmentId' | 'url'> &
    Partial<Pick<FileLinkClaims, 'contentType'>>;

export interface ChatFileSource {
    /**
     * Opens the file. Throws `bridge_files_gone` (410) when the chat or file is no longer there,
     * `bridge_files_unavailable` (503) when Salesforce cannot be reached.
     */
    open(ref: ChatFileRef, signal: AbortSignal): Promise<OpenedFile>;
}

const gone = (reason: string): BridgeError =>
    new BridgeError('bridge_files_gone', 'The file is no longer available', {
        details: { reason, httpStatus: 410, retryable: false }
    });

export function createChatFileSource(deps: ChatFileSourceDeps): ChatFileSource {
    const { onSize } = deps;
    return {
        async open(ref, signal): Promise<OpenedFile> {
            if (deps.adapter.openAttachment === undefined) throw gone('adapter_without_files');
            const state = await deps.loadChatState(ref.handoverId);
            if (state === undefined) throw gone('chat_unknown');
            const released = (): void => deps.release?.(ref.handoverId);
            let file: Awaited<ReturnType<NonNullable<ChatAdapter['openAttachment']>>>;
            try {
                file = await deps.adapter.openAttachment(
                    ref.handoverId,
                    state,
                    { url: ref.url, ...(ref.contentType === undefined ? {} : { contentType: ref.contentType }) },
                    signal
                );
            } catch (error) {
                released();
                throw error;
            }
            const stream = file.body as Partial<Readable>;
            if (typeof stream.once === 'function') stream.once('close', released);
            else released();
            const opened: OpenedFile = {
                body: file.body,
                ...(file.contentType === undefined ? {} : { contentType: file.contentType }),
                ...(file.contentLength === undefined ? {} : { contentLength: file.contentLength })
            };
            if (onSize === undefined) return opened;
            const which = { handoverId: ref.handoverId, attachmentId: ref.attachmentId };
            if (file.contentLength !== undefined) {
                onSize(which, file.contentLength);
                return opened;
            }
            const counted = countBytes(file.body);
            counted.body.once('end', () => onSize(which, counted.bytes()));
            return { ...opened, body: counted.body };
        }
    };
}
