/**
 * What one relayed message costs the database (issue 17): each direction is one transaction (the session
 * lock, one statement for the message's rows and its job) and the job's completion. The job is inserted
 * already claimed and sent right after the commit: no claim query, no NOTIFY, no second read of the session.
 * Runs end to end through the emulators, on both databases.
 */
import { countingDb, newStatementCount } from '../../bridge/src/store/counting-db';
import type { StatementCount } from '../../bridge/src/store/counting-db';
import { getOutboxJob } from '../../bridge/src/store/outbox';
import { databaseTargets, testDatabaseUrl, uniqueSchemaName } from '../support/databases';
import { eventually } from '../support/eventually';
import { requestAgent, sendUserText, startHandoverSandbox, userTextsAtAgent, waitForText } from './harness';
import type { HandoverSandbox } from './harness';

const CLAIM = /FOR UPDATE SKIP LOCKED/;
/** A NOTIFY of its own (the relay's statement holds one that runs only for a job left pending). */
const NOTIFY = /^SELECT pg_notify/;
const SESSION_READ = /^SELECT \* FROM handover_sessions WHERE id = \$1$/;

describe.each(databaseTargets().map((t) => t.name))('statements per relayed message (%s)', (engine) => {
    let sandbox: HandoverSandbox;
    let count: StatementCount;
    let seen: string[] = [];

    beforeAll(async () => {
        count = newStatementCount();
        const url = testDatabaseUrl();
        sandbox = await startHandoverSandbox({
            ...(engine === 'postgres' && url !== undefined ? { database: { url, schema: uniqueSchemaName() } } : {}),
            // The claim path only on request: a poll must not be what runs the relay's jobs here.
            outbox: { pollIntervalMs: 600_000, backoff: { baseMs: 10, maxMs: 100 }, maxAttempts: 20, leaseMs: 2000 },
            instrumentDb: (db) => countingDb(db, count)
        });
        count.onStatement = (sql) => seen.push(sql.replace(/\s+/g, ' ').trim());
    });

    afterAll(async () => {
        await sandbox.stop();
    });

    /** The statements sent while `work` runs, without the stream heartbeats that go on meanwhile. */
    async function statementsOf(work: () => Promise<void>): Promise<string[]> {
        seen = [];
        await work();
        return seen.filter((sql) => !/bridge_instances/.test(sql));
    }

    it('relays a user message and an agent message with no claim, no NOTIFY and no second session read', async () => {
        const userId = `stmt-${engine}`;
        const started = await requestAgent(sandbox, { userId });
        sandbox.chat.accept(started.conversationId, 'Priya');
        await waitForText(sandbox, userId, 'You are now chatting with Priya.');
        // The jobs of the join (notice, event) finished: their completions are not counted below.
        await eventually(async () => {
            const open = await sandbox.bridge.db.query<{ n: number }>(
                "SELECT count(*)::int AS n FROM outbox_jobs WHERE state IN ('pending', 'running') AND kind <> 'handover.timeout'"
            );
            return open.rows[0]?.n === 0 ? true : undefined;
        });

        const toAgent = await statementsOf(async () => {
            expect((await sendUserText(sandbox, userId, 501, 'my order is late')).status).toBe(200);
            await eventually(() =>
                userTextsAtAgent(sandbox, started.conversationId).includes('my order is late') ? true : undefined
            );
            await eventually(async () => {
                const job = await sandbox.bridge.db.query<{ state: string }>(
                    "SELECT state FROM outbox_jobs WHERE kind = 'chat.send_message' ORDER BY id DESC LIMIT 1"
                );
                return job.rows[0]?.state === 'done' ? true : undefined;
            });
        });
        expect(toAgent.filter((sql) => CLAIM.test(sql) || NOTIFY.test(sql) || SESSION_READ.test(sql))).toEqual([]);
        // The lookup of the active handover, BEGIN, the lock, the message's rows and job, COMMIT, the completion.
        expect(toAgent.filter((sql) => /^(BEGIN|COMMIT)$/.test(sql))).toEqual(['BEGIN', 'COMMIT']);
        expect(toAgent.filter((sql) => /INSERT INTO/.test(sql))).toHaveLength(1);
        expect(toAgent.filter((sql) => /SET state = 'done'/.test(sql))).toHaveLength(1);

        const toUser = await statementsOf(async () => {
            sandbox.chat.agentMessage(started.conversationId, 'sorry to hear that');
            await waitForText(sandbox, userId, 'sorry to hear that');
            await eventually(async () => {
                const job = await sandbox.bridge.db.query<{ id: string; state: string }>(
                    "SELECT id, state FROM outbox_jobs WHERE kind = 'haptik.message' ORDER BY id DESC LIMIT 1"
                );
                const row = job.rows[0];
                return row?.state === 'done' ? getOutboxJob(sandbox.bridge.db, String(row.id)) : undefined;
            });
        });
        expect(toUser.filter((sql) => CLAIM.test(sql) || NOTIFY.test(sql) || SESSION_READ.test(sql))).toEqual([]);
        expect(toUser.filter((sql) => /^(BEGIN|COMMIT)$/.test(sql))).toEqual(['BEGIN', 'COMMIT']);
        // The log entry, the job and the stream position in one statement; no rewrite of the session row.
        expect(toUser.filter((sql) => /INSERT INTO|UPDATE handover_sessions/.test(sql))).toHaveLength(1);
        expect(toUser.filter((sql) => /SET state = 'done'/.test(sql))).toHaveLength(1);
    });
});
