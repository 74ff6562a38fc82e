/**
 * A Salesforce Pub/Sub API emulator: a gRPC server speaking the real `pubsub_api.proto` (vendored next to this
 * file from forcedotcom/pub-sub-api) over TLS on loopback, so the bridge's real client library
 * (salesforce-pubsub-api-client) is what the tests exercise.
 *
 * Documented behaviour copied (https://developer.salesforce.com/docs/platform/pub-sub-api/guide/ and the
 * proto's comments): the caller authenticates with the `accesstoken`, `instanceurl` and `tenantid` metadata
 * (UNAUTHENTICATED otherwise); `GetTopic` gives the topic's schema id, `GetSchema` its Avro schema JSON;
 * `Subscribe` is a bidirectional stream whose first FetchRequest names the topic and the start (LATEST,
 * EARLIEST or CUSTOM after a replay id, an 8-byte big-endian number as the client encodes it); each
 * FetchRequest adds `numRequested` to what the server may send (flow control: never more events than
 * requested are in flight); an idle stream gets an empty FetchResponse with the latest replay id as a
 * keep-alive (Salesforce: within 270 s; tests shorten it); events are Avro binary of the topic's schema.
 * A platform event's schema has CreatedDate (long) and CreatedById (string) and one `["null","string"]`
 * union per custom text field, as Salesforce generates it.
 *
 * Choices where Salesforce documents nothing: a CUSTOM replay id older than the retained events starts at
 * the oldest retained one; an unknown topic is NOT_FOUND.
 */
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="../../../bridge/src/salesforce/byoc/avro-js.d.ts" />
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import avro from 'avro-js';

export interface PubSubEmulatorOptions {
    orgId: string;
    /** Whether an access token is one the org issued (the Salesforce emulator's token check). */
    isValidToken: (token: string) => boolean;
    /** Platform event topics, e.g. `/event/Haptik_Interaction__e`, with their custom text fields. */
    topics: Array<{ topicName: string; fields: string[] }>;
    port?: number;
    /** Interval of the empty keep-alive FetchResponse on an idle subscription (default 270 s). */
    keepAliveMs?: number;
    /** Also serve plaintext on another port (default false). */
    plaintext?: boolean;
}

export interface PublishedEvent {
    replayId: number;
    topicName: string;
    fields: Record<string, string | null>;
}

export interface PubSubEmulator {
    /** `https://127.0.0.1:<port>` (SF_PUBSUB_URL). */
    readonly url: string;
    readonly plaintextUrl?: string;
    /** Publishes a platform event as Salesforce would after a rep's action; returns its replay id. */
    publish(topicName: string, fields: Record<string, string | null>): number;
    /** Every event published on the topic, oldest first. */
    events(topicName: string): PublishedEvent[];
    /** Cuts every open subscription (the client must subscribe again from its stored replay id). */
    dropSubscriptions(): void;
    /** Every token is refused from now on (UNAUTHENTICATED) until `acceptTokens`. */
    rejectTokens(on: boolean): void;
    readonly stats: {
        subscribeCalls: number;
        activeSubscriptions: number;
        /** The most events requested but not yet delivered on one stream, ever (flow control). */
        maxPendingRequested: number;
        /** The most events sent in one FetchResponse. */
        maxBatch: number;
        eventsDelivered: number;
        /** Each Subscribe's start: preset and replay id. */
        starts: Array<{ preset: string; replayId?: number }>;
    };
    close(): Promise<void>;
}

interface Topic {
    name: string;
    schemaId: string;
    schemaJson: string;
    type: avro.Type;
    events: Array<{ replayId: number; id: string; payload: Buffer }>;
}

interface Subscriber {
    call: grpc.ServerDuplexStream<FetchRequest, unknown>;
    topic?: Topic;
    /** The replay id of the last event sent (or the start point). */
    position: number;
    pending: number;
    keepAlive?: NodeJS.Timeout;
}

interface FetchRequest {
    topicName?: string;
    replayPreset?: string | number;
    replayId?: Buffer;
    numRequested?: number;
}

/** The vendored proto, next to this file or (compiled to dist/ for the demo) in the source tree. */
export function pubsubProtoPath(): string {
    const candidates = [
        path.join(__dirname, 'pubsub_api.proto'),
        path.resolve(__dirname, '../../../../test/emulators/byoc/pubsub_api.proto')
    ];
    return candidates.find((candidate) => existsSync(candidate)) ?? candidates[0]!;
}

function certificate(name: string): Buffer {
    const candidates = [
        path.join(__dirname, 'certificates', name),
        path.resolve(__dirname, '../../../../test/emulators/byoc/certificates', name)
    ];
    return readFileSync(candidates.find((candidate) => existsSync(candidate)) ?? candidates[0]!);
}

/** The Avro schema Salesforce generates for a custom platform event with text fields. */
export function platformEventSchema(topicName: string, fields: string[]): string {
    const name = topicName.replace(/^\/event\//, '');
    return JSON.stringify({
        type: 'record',
        name,
        namespace: 'com.sforce.eventbus',
        fields: [
            { name: 'CreatedDate', type: 'long', doc: 'CreatedDate:DateTime' },
            { name: 'CreatedById', type: 'string', doc: 'CreatedBy:EntityId' },
            ...fields.map((field) => ({ name: field, type: ['null', 'string'], doc: 'Data:Text', default: null }))
        ]
    });
}

const encodeReplayId = (replayId: number): Buffer => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigUInt64BE(BigInt(replayId));
    return buffer;
};

const decodeReplayId = (buffer: Buffer | undefined): number | undefined =>
    buffer !== undefined && buffer.length === 8 ? Number(buffer.readBigUInt64BE()) : undefined;

const PRESETS = ['LATEST', 'EARLIEST', 'CUSTOM'];

export async function startPubSubEmulator(options: PubSubEmulatorOptions): Promise<PubSubEmulator> {
    const keepAliveMs = options.keepAliveMs ?? 270_000;
    // The same loader options as the client (camelCase fields, numeric enums).
    const definition = protoLoader.loadSync(pubsubProtoPath(), {});
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
        eventbus: { v1: { PubSub: { service: grpc.ServiceDefinition } } };
    };
    const topics = new Map<string, Topic>();
    for (const { topicName, fields } of options.topics) {
        const schemaJson = platformEventSchema(topicName, fields);
        topics.set(topicName, {
            name: topicName,
            schemaId: createHash('sha256').update(schemaJson).digest('base64url').slice(0, 22),
            schemaJson,
            type: avro.parse(schemaJson),
            events: []
        });
    }
    const subscribers = new Set<Subscriber>();
    const stats: PubSubEmulator['stats'] = {
        subscribeCalls: 0,
        activeSubscriptions: 0,
        maxPendingRequested: 0,
        maxBatch: 0,
        eventsDelivered: 0,
        starts: []
    };
    let replayCounter = 1000;
    let refuseTokens = false;

    const authenticate = (metadata: grpc.Metadata): grpc.ServiceError | undefined => {
        const token = String(metadata.get('accesstoken')[0] ?? '');
        const tenant = String(metadata.get('tenantid')[0] ?? '');
        const instanceUrl = String(metadata.get('instanceurl')[0] ?? '');
        const fail = (details: string): grpc.ServiceError =>
            Object.assign(new Error(details), {
                code: grpc.status.UNAUTHENTICATED,
                details,
                metadata: new grpc.Metadata()
            });
        if (refuseTokens || !options.isValidToken(token)) return fail('Invalid access token');
        if (tenant.slice(0, 15) !== options.orgId.slice(0, 15)) return fail('tenantid does not match the token');
        if (!instanceUrl.startsWith('http')) return fail('instanceurl is required');
        return undefined;
    };

    const notFound = (what: string): grpc.ServiceError =>
        Object.assign(new Error(what), { code: grpc.status.NOT_FOUND, details: what, metadata: new grpc.Metadata() });

    const latest = (topic: Topic): number => topic.events.at(-1)?.replayId ?? replayCounter;

    const deliver = (sub: Subscriber): void => {
        const topic = sub.topic;
        if (!topic || sub.pending <= 0) return;
        const batch = topic.events.filter((e) => e.replayId > sub.position).slice(0, sub.pending);
        if (batch.length === 0) return;
        sub.pending -= batch.length;
        sub.position = batch.at(-1)!.replayId;
        stats.eventsDelivered += batch.length;
        stats.maxBatch = Math.max(stats.maxBatch, batch.length);
        sub.call.write({
            events: batch.map((e) => ({
                event: { id: e.id, schemaId: topic.schemaId, payload: e.payload, headers: [] },
                replayId: encodeReplayId(e.replayId)
            })),
            latestReplayId: encodeReplayId(sub.position),
            rpcId: randomUUID(),
            pendingNumRequested: sub.pending
        });
    };

    const service: grpc.UntypedServiceImplementation = {
        GetTopic: (
            call: grpc.ServerUnaryCall<{ topicName?: string }, unknown>,
            callback: grpc.sendUnaryData<unknown>
        ) => {
            const problem = authenticate(call.metadata);
            if (problem) return callback(problem);
            const topic = topics.get(call.request.topicName ?? '');
            if (!topic) return callback(notFound(`Topic ${call.request.topicName ?? ''} not found`));
            callback(null, {
                topicName: topic.name,
                tenantGuid: options.orgId,
                canPublish: true,
                canSubscribe: true,
                schemaId: topic.schemaId,
                rpcId: randomUUID()
            });
        },
        GetSchema: (
            call: grpc.ServerUnaryCall<{ schemaId?: string }, unknown>,
            callback: grpc.sendUnaryData<unknown>
        ) => {
            const problem = authenticate(call.metadata);
            if (problem) return callback(problem);
            const topic = [...topics.values()].find((t) => t.schemaId === call.request.schemaId);
            if (!topic) return callback(notFound(`Schema ${call.request.schemaId ?? ''} not found`));
            callback(null, { schemaJson: topic.schemaJson, schemaId: topic.schemaId, rpcId: randomUUID() });
        },
        Subscribe: (call: grpc.ServerDuplexStream<FetchRequest, unknown>) => {
            stats.subscribeCalls += 1;
            const problem = authenticate(call.metadata);
            if (problem) {
                call.destroy(problem);
                return;
            }
            const sub: Subscriber = { call, position: 0, pending: 0 };
            subscribers.add(sub);
            stats.activeSubscriptions += 1;
            const gone = (): void => {
                if (sub.keepAlive) clearInterval(sub.keepAlive);
                if (subscribers.delete(sub)) stats.activeSubscriptions -= 1;
            };
            call.on('cancelled', gone);
            call.on('close', gone);
            call.on('error', gone);
            call.on('end', () => {
                gone();
                call.end();
            });
            call.on('data', (request: FetchRequest) => {
                if (!sub.topic) {
                    // Headers at once: the subscriber knows its stream is open before any event or keep-alive.
                    call.sendMetadata(new grpc.Metadata());
                    const topic = topics.get(request.topicName ?? '');
                    if (!topic) {
                        gone();
                        call.destroy(notFound(`Topic ${request.topicName ?? ''} not found`));
                        return;
                    }
                    sub.topic = topic;
                    const preset =
                        typeof request.replayPreset === 'number'
                            ? (PRESETS[request.replayPreset] ?? 'LATEST')
                            : (request.replayPreset ?? 'LATEST');
                    const custom = decodeReplayId(request.replayId);
                    if (preset === 'EARLIEST') sub.position = 0;
                    else if (preset === 'CUSTOM' && custom !== undefined) sub.position = custom;
                    else sub.position = latest(topic);
                    stats.starts.push({
                        preset,
                        ...(preset === 'CUSTOM' && custom !== undefined ? { replayId: custom } : {})
                    });
                    sub.keepAlive = setInterval(() => {
                        call.write({
                            events: [],
                            latestReplayId: encodeReplayId(latest(topic)),
                            rpcId: randomUUID(),
                            pendingNumRequested: sub.pending
                        });
                    }, keepAliveMs);
                    sub.keepAlive.unref();
                }
                sub.pending += Math.max(0, Math.min(100, request.numRequested ?? 0));
                stats.maxPendingRequested = Math.max(stats.maxPendingRequested, sub.pending);
                deliver(sub);
            });
        }
    };

    const servers: grpc.Server[] = [];
    const bind = async (credentials: grpc.ServerCredentials, port: number): Promise<number> => {
        const server = new grpc.Server();
        server.addService(pkg.eventbus.v1.PubSub.service, service);
        const bound = await new Promise<number>((resolve, reject) => {
            server.bindAsync(`127.0.0.1:${port}`, credentials, (error, actual) =>
                error ? reject(error) : resolve(actual)
            );
        });
        servers.push(server);
        return bound;
    };
    const tlsPort = await bind(
        grpc.ServerCredentials.createSsl(
            null,
            [{ private_key: certificate('pubsub-loopback.key'), cert_chain: certificate('pubsub-loopback.crt') }],
            false
        ),
        options.port ?? 0
    );
    const plainPort = options.plaintext ? await bind(grpc.ServerCredentials.createInsecure(), 0) : undefined;

    return {
        url: `https://127.0.0.1:${tlsPort}`,
        ...(plainPort === undefined ? {} : { plaintextUrl: `http://127.0.0.1:${plainPort}` }),
        publish(topicName, fields) {
            const topic = topics.get(topicName);
            if (!topic) throw new Error(`unknown topic ${topicName}`);
            replayCounter += 1;
            const record: Record<string, unknown> = {
                CreatedDate: Date.now(),
                CreatedById: '005000000000001AAA'
            };
            for (const field of (JSON.parse(topic.schemaJson) as { fields: Array<{ name: string }> }).fields) {
                if (field.name === 'CreatedDate' || field.name === 'CreatedById') continue;
                const value = fields[field.name];
                record[field.name] = value === undefined || value === null ? null : { string: value };
            }
            topic.events.push({ replayId: replayCounter, id: randomUUID(), payload: topic.type.toBuffer(record) });
            for (const sub of subscribers) if (sub.topic === topic) deliver(sub);
            return replayCounter;
        },
        events(topicName) {
            const topic = topics.get(topicName);
            if (!topic) return [];
            return topic.events.map((e) => {
                const decoded = topic.type.fromBuffer(e.payload) as Record<string, unknown>;
                const fields: Record<string, string | null> = {};
                for (const [key, value] of Object.entries(decoded)) {
                    if (key === 'CreatedDate' || key === 'CreatedById') continue;
                    fields[key] = value === null ? null : String((value as { string: string }).string);
                }
                return { replayId: e.replayId, topicName, fields };
            });
        },
        dropSubscriptions() {
            for (const sub of [...subscribers]) {
                if (sub.keepAlive) clearInterval(sub.keepAlive);
                subscribers.delete(sub);
                stats.activeSubscriptions -= 1;
                sub.call.destroy(
                    Object.assign(new Error('stream reset'), {
                        code: grpc.status.UNAVAILABLE,
                        details: 'stream reset',
                        metadata: new grpc.Metadata()
                    })
                );
            }
        },
        rejectTokens(on) {
            refuseTokens = on;
        },
        stats,
        async close() {
            for (const sub of subscribers) if (sub.keepAlive) clearInterval(sub.keepAlive);
            subscribers.clear();
            await Promise.all(
                servers.map(
                    (server) =>
                        new Promise<void>((resolve) => {
                            server.tryShutdown(() => resolve());
                            setTimeout(() => {
                                server.forceShutdown();
                                resolve();
                            }, 200).unref();
                        })
                )
            );
        }
    };
}
