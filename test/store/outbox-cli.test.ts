import { formatDeadJobs } from '../../scripts/outbox';
import type { OutboxJob } from '../../bridge/src/store/outbox';

function deadJob(id: string, lastError: string): OutboxJob {
    const at = new Date('2026-11-25T10:00:00.000Z');
    return {
        id,
        kind: 'haptik.sendMessage',
        orderingKey: 'user-1',
        payload: { text: 'private words' },
        idempotencyKey: null,
        state: 'dead',
        attempts: 8,
        runAt: null,
        lockedUntil: null,
        lastError,
        lastErrorCode: 'bridge_haptik_rejected',
        createdAt: at,
        updatedAt: at,
        finishedAt: at
    };
}

describe('outbox CLI table', () => {
    it('lists dead jobs in aligned columns without their payloads', () => {
        const table = formatDeadJobs([deadJob('7', 'Haptik answered 400:\n  invalid user_id'), deadJob('12', 'x')]);
        const lines = table.split('\n');
        expect(lines[0]).toBe('id  kind                ordering key  attempts  failed at                 error');
        expect(lines[2]).toBe(
            '7   haptik.sendMessage  user-1        8         2026-11-25T10:00:00.000Z  bridge_haptik_rejected: Haptik answered 400: invalid user_id'
        );
        expect(lines[3]!.startsWith('12  ')).toBe(true);
        expect(table).not.toContain('private words');
    });

    it('says so when there is nothing dead', () => {
        expect(formatDeadJobs([])).toBe('No dead jobs.');
    });
});
