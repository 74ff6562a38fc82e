import { webhookConversationComplete } from '../emulators/haptik/haptik-sender';
import type { Sandbox } from '../emulators/sandbox';
import type { Db } from '../../bridge/src/store/db';
import { eventually } from '../support/eventually';

/** Haptik reports each user's conversation 1 complete; every webhook must be answered 200 (stored). */
export async function completeConversations(sandbox: Sandbox, userIds: readonly string[]): Promise<void> {
    for (const userId of userIds) {
        const answer = await sandbox.send.webhook(
            webhookConversationComplete({
                userId,
                userName: `hu-${userId}`,
                conversationNo: 1,
                completionType: 'autocomplete'
            })
        );
        expect(answer.status).toBe(200);
    }
}

/** Waits until no job is waiting, running or dead. */
export function waitUntilDrained(db: Db, timeoutMs = 30_000): Promise<true> {
    return eventually(async () => {
        const open = await db.query(`SELECT 1 FROM outbox_jobs WHERE state IN ('pending', 'running', 'dead')`);
        return open.rows.length === 0 ? true : undefined;
    }, timeoutMs);
}
