import { enqueue, getOutboxJob } from '../../bridge/src/store/outbox';
import { startSandbox } from '../emulators/sandbox';
import type { Sandbox } from '../emulators/sandbox';

/** The dead-letter admin routes against a real bridge and its database (not a stubbed port). */
const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

let sandbox: Sandbox;

beforeAll(async () => {
    sandbox = await startSandbox({ env: { BRIDGE_ADMIN_TOKEN: ADMIN_TOKEN } });
});

afterAll(async () => {
    await sandbox.stop();
});

function retry(id: string): Promise<Response> {
    return fetch(`${sandbox.bridge.url}/admin/outbox/dead/${encodeURIComponent(id)}/retry`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` }
    });
}

describe('POST /admin/outbox/dead/{id}/retry', () => {
    it.each(['abc', '-1', '0', '1.5', '1e3', ' 1', '99999999999999999999', '9223372036854775808', '١٢'])(
        'answers 404 bridge_http_not_found for the id %p',
        async (id) => {
            const response = await retry(id);
            expect(response.status).toBe(404);
            expect(await response.json()).toEqual({
                error: { code: 'bridge_http_not_found', message: 'No dead job has that id' }
            });
        }
    );

    it('retries a dead job by its id; a job that is not dead is not found', async () => {
        const db = sandbox.bridge.db;
        const later = new Date(Date.now() + 3_600_000);
        const dead = await enqueue(db, { kind: 'no.such.kind', orderingKey: 'admin-1', payload: {}, runAt: later });
        const pending = await enqueue(db, { kind: 'no.such.kind', orderingKey: 'admin-2', payload: {}, runAt: later });
        await db.query(`UPDATE outbox_jobs SET state = 'dead' WHERE id = $1`, [dead.id]);
        const first = await retry(dead.id);
        expect(first.status).toBe(200);
        expect(await first.json()).toEqual({ retried: true, id: dead.id });
        expect((await retry(pending.id)).status).toBe(404);
        expect(await getOutboxJob(db, pending.id)).toMatchObject({ state: 'pending' });
    });
});
