/**
 * A deadline on the whole Salesforce call (issue 16 defect 2): jsforce's own timeout stops counting once the
 * response headers arrive, so a server that sends headers and then stalls kept a call (and the outbox slot
 * that waits for it) pending for good. Each exchange now ends at its deadline, body included, and the
 * whole call (retries included) at another.
 */
import type { SalesforceError } from '../../bridge/src/salesforce/salesforce-client';
import { startSalesforceEmulator } from '../emulators/salesforce';
import type { SalesforceEmulator } from '../emulators/salesforce';
import { CLIENT_ID, CLIENT_SECRET, caught, clientFor } from './helpers';

/** The call's outcome, or `still pending` when it has not settled well after every deadline passed. */
function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | 'still pending'> {
    return Promise.race([
        promise,
        new Promise<'still pending'>((resolve) => setTimeout(() => resolve('still pending'), ms).unref())
    ]);
}

describe('Salesforce call deadlines', () => {
    let emulator: SalesforceEmulator;

    beforeEach(async () => {
        emulator = await startSalesforceEmulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    });
    afterEach(async () => {
        await emulator.close();
    });

    it('ends an exchange whose headers came but whose body never does, and retries an idempotent call', async () => {
        const { client } = clientFor(emulator, { deps: { timeoutMs: 300 } });
        await client.authorize();
        emulator.insert('Case', { Subject: 'found' });
        emulator.failNext(1, { stallAfterHeaders: true });
        const rows = await settledWithin(client.query<{ Subject: string }>('SELECT Subject FROM Case'), 8000);
        expect(rows).toEqual([expect.objectContaining({ Subject: 'found' })]);
        expect(emulator.apiCalls.byKind.query).toBe(2);
    });

    it('gives up at the whole-call deadline with a coded, retryable error when every exchange stalls', async () => {
        const { client } = clientFor(emulator, { deps: { timeoutMs: 200, deadlineMs: 700 } });
        await client.authorize();
        emulator.failNext(20, { stallAfterHeaders: true });
        const outcome = await settledWithin(caught(client.query('SELECT Id FROM Case')), 8000);
        expect(outcome).not.toBe('still pending');
        const error = outcome as SalesforceError;
        expect(error.code).toBe('bridge_salesforce_timeout');
        expect(error.details).toMatchObject({ operation: 'query', retryable: true });
        expect(error.message).toContain('query');
        expect(emulator.apiCalls.byKind.query).toBeLessThanOrEqual(4);
    });

    it('does not repeat a create that stalled after its headers, and says its outcome is unknown', async () => {
        const { client } = clientFor(emulator, { deps: { timeoutMs: 200 } });
        await client.authorize();
        emulator.failNext(1, { stallAfterHeaders: true });
        const outcome = await settledWithin(caught(client.create('Case', { Subject: 'maybe saved' })), 8000);
        expect(outcome).not.toBe('still pending');
        const error = outcome as SalesforceError;
        expect(error.code).toBe('bridge_salesforce_timeout');
        expect(error.details).toMatchObject({ outcomeUnknown: true, retryable: false });
        expect(emulator.apiCalls.byKind.create).toBe(1);
    });
});
