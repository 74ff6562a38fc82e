import type { ChatAdapter } from '../../core/handover/chat-port';
import type { HandoverSettings } from '../../core/handover/handover-settings';
import type { HaptikClient } from '../../haptik/haptik-client';
import type { ThreadControlDirectory } from '../../haptik/thread-control';
import type { Logger } from '../../observability/logger';
import type { SalesforceClient } from '../../salesforce/salesforce-client';
import type { Db } from '../../store/db';
import type { OutboxWorker } from '../../store/outbox-worker';
import type { CustomerLookupService } from '../customer-lookup-service';
import type { StreamOwnership } from '../stream-ownership';
import type { TranscriptCaseService } from '../transcript-case-service';
import type { UserNames } from '../user-names';

export interface HandoverServiceDeps {
    db: Db;
    /**
     * The outbox worker: woken after a commit; with `directClaim` and `dispatch`, a relayed message's job is
     * inserted already claimed and run here right after the commit (outbox.ts DirectClaim).
     */
    outbox: Pick<OutboxWorker, 'notify'> & Partial<Pick<OutboxWorker, 'directClaim' | 'dispatch'>>;
    chat: ChatAdapter;
    /** Which chats' streams this instance reads (several instances may share the database). */
    streams: Pick<StreamOwnership, 'claimForOpen' | 'holds' | 'forget'>;
    settings: HandoverSettings;
    businessId: string;
    haptik: Pick<HaptikClient, 'getChatHistory'>;
    salesforce: Pick<SalesforceClient, 'update'>;
    customerLookup?: CustomerLookupService | undefined;
    /** The bridge's TRACT receiver id, for the handover answer's callback_ops. */
    threadControl: Pick<ThreadControlDirectory, 'receivers'>;
    /** The Haptik user name of a user TRACT named only by id (for the bot history). */
    userNames?: Pick<UserNames, 'nameOf'> | undefined;
    /** Files the transcript Case of a conversation TRACT reports complete. */
    transcripts?: Pick<TranscriptCaseService, 'onTractComplete'> | undefined;
    logger: Logger;
    clock: { now(): Date };
    /** The mapping file's redaction rules: the bot context and the briefing go through them. */
    redact?: ((text: string) => string) | undefined;
    /** Labels of the agent's briefing (default User / Bot / Agent). */
    names?: { userName: string; botName: string; agentName: string } | undefined;
}

/** What a TRACT hook did with its call (the route answers Haptik from it). */
export type TractOutcome = 'accepted' | 'duplicate' | 'ignored';

/**
 * What every part of the handover service works with, built once per service from its deps: the ports
 * as given, the defaults filled in, and the per-handover queue that runs one handover's inputs in turn.
 */
export interface HandoverContext extends Readonly<Omit<HandoverServiceDeps, 'names'>> {
    readonly names: { userName: string; botName: string; agentName: string };
    /** The Salesforce object of the chat record (its `CaseId` links the conversation Case). */
    readonly recordType: 'MessagingSession' | 'LiveChatTranscript';
    /** Runs `work` after every earlier work of the same key in this process has settled. */
    serial<T>(key: string, work: () => Promise<T>): Promise<T>;
}

export function createHandoverContext(deps: HandoverServiceDeps): HandoverContext {
    return {
        ...deps,
        logger: deps.logger.child({ component: 'handover' }),
        names: deps.names ?? { userName: 'User', botName: 'Bot', agentName: 'Agent' },
        recordType: deps.chat.kind === 'legacy' ? 'LiveChatTranscript' : 'MessagingSession',
        serial: serialQueue()
    };
}

// Inputs of one handover run one after another in this process (the row lock covers other processes).
function serialQueue(): HandoverContext['serial'] {
    const queues = new Map<string, Promise<unknown>>();
    return <T>(key: string, work: () => Promise<T>): Promise<T> => {
        const previous = queues.get(key) ?? Promise.resolve();
        const next = previous.then(work, work);
        const settled = next.then(
            () => undefined,
            () => undefined
        );
        queues.set(key, settled);
        void settled.then(() => {
            if (queues.get(key) === settled) queues.delete(key);
        });
        return next;
    };
}
