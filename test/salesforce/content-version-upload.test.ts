import { randomBytes } from 'node:crypto';
import { isBridgeError } from '../../bridge/src/core/errors';
import { BridgeError } from '../../bridge/src/core/errors';
import { makeId, shippedIntegrationUser, startSalesforceEmulator } from '../emulators/salesforce';
import type { SalesforceEmulator } from '../emulators/salesforce';
import { CLIENT_ID, CLIENT_SECRET, caught, clientFor } from './helpers';

/**
 * Files as ContentVersions, streamed ("Insert or Update Blob Data"): the client writes a multipart body of an
 * `entity_content` JSON part and a `VersionData` binary part as the file's bytes arrive, and the emulator parses
 * it as Salesforce does, refusing a malformed body with Salesforce's answers and a record the user cannot see.
 */
let emulator: SalesforceEmulator;

beforeEach(async () => {
    emulator = await startSalesforceEmulator({
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        integrationUser: shippedIntegrationUser()
    });
});
afterEach(async () => {
    await emulator.close();
});

/** A file that arrives in pieces, as a download does. */
async function* pieces(data: Buffer, size = 16 * 1024): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < data.length; at += size) {
        await new Promise((resolve) => setImmediate(resolve));
        yield data.subarray(at, at + size);
    }
}

const ownCase = (): string => String(emulator.insert('Case', { Subject: 'files', OwnerId: emulator.userId })['Id']);

async function token(): Promise<string> {
    const res = await fetch(`${emulator.url}/services/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: CLIENT_ID,
            client_secret: CLIENT_SECRET
        }).toString()
    });
    return ((await res.json()) as { access_token: string }).access_token;
}

/** A raw insert with a body of the given parts. */
async function rawInsert(
    parts: Array<{ headers: string; body: string | Buffer }>,
    contentType = 'multipart/form-data; boundary=b0undary'
): Promise<{ status: number; body: unknown }> {
    const chunks: Buffer[] = [];
    for (const part of parts) {
        chunks.push(Buffer.from(`--b0undary\r\n${part.headers}\r\n\r\n`), Buffer.from(part.body), Buffer.from('\r\n'));
    }
    chunks.push(Buffer.from('--b0undary--\r\n'));
    const res = await fetch(`${emulator.url}/services/data/v64.0/sobjects/ContentVersion`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await token()}`, 'content-type': contentType },
        body: Buffer.concat(chunks)
    });
    return { status: res.status, body: await res.json() };
}

const entity = (fields: Record<string, unknown>) => ({
    headers: 'Content-Disposition: form-data; name="entity_content"\r\nContent-Type: application/json',
    body: JSON.stringify(fields)
});
const binary = (name: string, data: Buffer) => ({
    headers: `Content-Disposition: form-data; name="${name}"; filename="f.bin"\r\nContent-Type: application/octet-stream`,
    body: data
});

describe('ContentVersion with blob data (multipart)', () => {
    it('streams the file into a ContentVersion shared with the Case', async () => {
        const { client } = clientFor(emulator);
        const caseId = ownCase();
        const data = randomBytes(200 * 1024);
        const created = await client.createFileVersion({
            title: 'parcel',
            pathOnClient: 'haptik/abc/parcel.jpg',
            firstPublishLocationId: caseId,
            description: 'Sent by the user in the chat',
            fileName: 'parcel.jpg',
            contentType: 'image/jpeg',
            body: pieces(data)
        });
        const [version] = emulator.records('ContentVersion');
        expect(version).toMatchObject({
            Id: created.id,
            Title: 'parcel',
            PathOnClient: 'haptik/abc/parcel.jpg',
            FirstPublishLocationId: caseId,
            Description: 'Sent by the user in the chat',
            ContentSize: data.length,
            FileExtension: 'jpg'
        });
        expect(Buffer.from(String(version!['VersionData']), 'base64').equals(data)).toBe(true);
        const link = emulator.records('ContentDocumentLink').find((l) => l['LinkedEntityId'] === caseId);
        expect(link?.['ContentDocumentId']).toBe(version!['ContentDocumentId']);
        // One request, a multipart one.
        expect(emulator.requests.filter((r) => r.kind === 'create').map((r) => r.status)).toEqual([201]);
    });

    it("answers Salesforce's errors to a malformed body", async () => {
        const caseId = ownCase();
        const file = randomBytes(64);
        const noEntity = await rawInsert([binary('VersionData', file)]);
        expect(noEntity).toEqual({
            status: 400,
            body: [
                { message: 'Multipart message must include a non-binary part', errorCode: 'INVALID_MULTIPART_REQUEST' }
            ]
        });
        const twoFiles = await rawInsert([
            entity({ PathOnClient: 'a.bin', FirstPublishLocationId: caseId }),
            binary('VersionData', file),
            binary('VersionData', file)
        ]);
        expect(twoFiles).toEqual({
            status: 400,
            body: [{ message: 'Cannot include more than one binary part', errorCode: 'INVALID_MULTIPART_REQUEST' }]
        });
        const related = await rawInsert(
            [entity({ PathOnClient: 'a.bin' }), binary('VersionData', file)],
            'multipart/related; boundary=b0undary'
        );
        expect(related.status).toBe(415);
        expect(related.body).toEqual([
            {
                message: "MediaType of 'multipart/related' is not supported by this resource",
                errorCode: 'UNSUPPORTED_MEDIA_TYPE'
            }
        ]);
        const badJson = await rawInsert([
            { headers: entity({}).headers, body: '{"PathOnClient": ' },
            binary('VersionData', file)
        ]);
        expect(badJson.status).toBe(400);
        expect((badJson.body as Array<{ errorCode: string }>)[0]?.errorCode).toBe('JSON_PARSER_ERROR');
        const noData = await rawInsert([entity({ PathOnClient: 'a.bin', FirstPublishLocationId: caseId })]);
        expect(noData).toEqual({
            status: 400,
            body: [
                {
                    message: 'Required fields are missing: [VersionData]',
                    errorCode: 'REQUIRED_FIELD_MISSING',
                    fields: ['VersionData']
                }
            ]
        });
        expect(emulator.records('ContentVersion')).toEqual([]);
    });

    it('refuses to share a file with a Case the integration user cannot see', async () => {
        const { client } = clientFor(emulator);
        // Another owner's Case, Private sharing, no rule sharing it with the bridge.
        const hidden = String(emulator.insert('Case', { Subject: 'not yours', OwnerId: makeId('005', 77) })['Id']);
        const error = await caught(
            client.createFileVersion({
                title: 'x',
                pathOnClient: 'x.txt',
                firstPublishLocationId: hidden,
                fileName: 'x.txt',
                contentType: 'text/plain',
                body: pieces(Buffer.from('hello'))
            })
        );
        expect(error.code).toBe('bridge_salesforce_api_error');
        expect(error.details.sfErrorCode).toBe('INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY');
        expect(emulator.records('ContentVersion')).toEqual([]);
    });

    it('an expired session during an upload: renewed, and the call fails to be tried again (the stream is spent)', async () => {
        const { client } = clientFor(emulator);
        const caseId = ownCase();
        await client.query('SELECT Id FROM Case LIMIT 1');
        emulator.expireTokens();
        const error = await caught(
            client.createFileVersion({
                title: 'x',
                pathOnClient: 'x.txt',
                firstPublishLocationId: caseId,
                fileName: 'x.txt',
                contentType: 'text/plain',
                body: pieces(Buffer.from('hello'))
            })
        );
        expect(error.code).toBe('bridge_salesforce_unavailable');
        expect(error.details.retryable).toBe(true);
        expect(error.details.outcomeUnknown).toBeUndefined();
        expect(emulator.tokensIssued).toBe(2);
        // The next try goes through with the new session.
        await client.createFileVersion({
            title: 'x',
            pathOnClient: 'x.txt',
            firstPublishLocationId: caseId,
            fileName: 'x.txt',
            contentType: 'text/plain',
            body: pieces(Buffer.from('hello'))
        });
        expect(emulator.records('ContentVersion')).toHaveLength(1);
    });

    it("a file whose own stream fails fails the call with the file's error, and nothing is saved", async () => {
        const { client } = clientFor(emulator);
        const caseId = ownCase();
        async function* broken(): AsyncGenerator<Uint8Array> {
            yield Buffer.alloc(1024);
            await new Promise((resolve) => setImmediate(resolve));
            throw new BridgeError('bridge_files_too_large', 'The file is larger than 1024 bytes', {
                details: { retryable: false }
            });
        }
        const failure = await client
            .createFileVersion({
                title: 'x',
                pathOnClient: 'x.bin',
                firstPublishLocationId: caseId,
                fileName: 'x.bin',
                contentType: 'application/octet-stream',
                body: broken()
            })
            .then(
                () => undefined,
                (error: unknown) => error
            );
        expect(isBridgeError(failure, 'bridge_files_too_large')).toBe(true);
        expect(emulator.records('ContentVersion')).toEqual([]);
        // Salesforce is not to blame: readiness still sees it as answering.
        expect(client.lastOutcome()?.ok ?? true).toBe(true);
    });
});
