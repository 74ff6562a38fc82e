/**
 * One Pub/Sub API subscription to the org's BYOC platform event (https://developer.salesforce.com/docs/platform/pub-sub-api/
 * and pubsub_api.proto of forcedotcom/pub-sub-api): a `Subscribe` bidirectional stream over TLS with the
 * `accesstoken`, `instanceurl` and `tenantid` metadata, a start after a stored replay id (8-byte big-endian, as
 * the proto's clients encode it) or at the tip, events decoded with the topic's Avro schema (`GetSchema`), and
 * `numRequested` flow control done by the caller: a finite batch is asked for, the next one only once the
 * caller has handled the last.
 *
 * Why not salesforce-pubsub-api-client (it was tried first; the emulator test still drives it): its released
 * 5.5.2 `close()` removes the stream's listeners without cancelling the gRPC call, so when the server later ends
 * that call grpc-js emits an 'error' nobody listens to and the process dies; a bridge that reconnects (token
 * renewal, lease moves) cannot live with that, and the fix (call options) is not released. This module is the
 * small part of it the bridge needs, on the same @grpc/grpc-js, @grpc/proto-loader and avro-js, with a
 * `stop()` that cancels the call. Plaintext (`http://` on loopback, contract §1) comes for free.
 */
// avro-js has no types; the ambient ones must come along where only this file is compiled (bridge-process tests).
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./avro-js.d.ts" />
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import avro from 'avro-js';
import type { Logger } from '../../observability/logger';
import { PUBSUB_API_DESCRIPTOR } from './pubsub-api-descriptor';

export interface ReceivedEvent {
    replayId: number;
    /** The event's fields, Avro unions flattened (`{string: 'x'}` → `'x'`). */
    fields: Record<string, unknown>;
}

export interface PubSubStreamOptions {
    /** host:port */
    endpoint: string;
    /** TLS with certificate verification (true), TLS without (loopback), or plaintext (loopback). */
    transport: 'tls' | 'tls-unverified' | 'plaintext';
    topic: string;
    accessToken: string;
    instanceUrl: string;
    orgId: string;
    /** Events asked for at a time (Pub/Sub takes at most 100). */
    batch: number;
    /** Where to start: after this replay id, or at the tip when null. */
    replayId: number | null;
    logger: Logger;
    /** The server answered the subscribe request (its headers, or a first response): the stream is open. */
    onReady(): void;
    /** Called once per event, in stream order. */
    onEvent(event: ReceivedEvent): void;
    /** An idle stream's keep-alive (an empty FetchResponse), with the latest replay id the server knows. */
    onKeepAlive(latestReplayId: number | null): void;
    /** The stream failed or ended (not after stop()); `unauthenticated` when the token was refused. */
    onClosed(reason: { unauthenticated: boolean; detail: string }): void;
}

export interface PubSubStream {
    /** Asks for the next batch (call when the previous one is handled). */
    requestMore(): void;
    stop(): void;
}

interface FetchResponse {
    events?: Array<{ event?: { id?: string; schemaId?: string; payload?: Buffer }; replayId?: Buffer }>;
    latestReplayId?: Buffer;
    pendingNumRequested?: number;
}

interface PubSubService extends grpc.Client {
    Subscribe(metadata: grpc.Metadata): grpc.ClientDuplexStream<unknown, FetchResponse>;
    GetTopic(
        request: { topicName: string },
        metadata: grpc.Metadata,
        options: grpc.CallOptions,
        callback: (
            error: grpc.ServiceError | null,
            answer?: { topicName?: string; canSubscribe?: boolean; schemaId?: string }
        ) => void
    ): void;
    GetSchema(
        request: { schemaId: string },
        metadata: grpc.Metadata,
        callback: (error: grpc.ServiceError | null, answer?: { schemaJson?: string }) => void
    ): void;
}

type PubSubConstructor = new (
    address: string,
    credentials: grpc.ChannelCredentials,
    options?: grpc.ChannelOptions
) => PubSubService;

let serviceConstructor: PubSubConstructor | undefined;
function pubSubService(): PubSubConstructor {
    if (serviceConstructor === undefined) {
        const definition = protoLoader.fromJSON(
            PUBSUB_API_DESCRIPTOR as unknown as Parameters<typeof protoLoader.fromJSON>[0],
            {}
        );
        const loaded = grpc.loadPackageDefinition(definition) as unknown as {
            eventbus: { v1: { PubSub: PubSubConstructor } };
        };
        serviceConstructor = loaded.eventbus.v1.PubSub;
    }
    return serviceConstructor;
}

const encodeReplayId = (replayId: number): Buffer => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigUInt64BE(BigInt(replayId));
    return buffer;
};

const decodeReplayId = (buffer: Buffer | undefined): number | null =>
    buffer !== undefined && buffer.length === 8 ? Number(buffer.readBigUInt64BE()) : null;

/** `{string: 'x'}` → `'x'`: Avro's union wrappers, as the platform event's nullable fields come. */
function flatten(record: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(record)) {
        if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
            const keys = Object.keys(value);
            out[key] = keys.length === 1 ? (value as Record<string, unknown>)[keys[0]!] : value;
        } else out[key] = value;
    }
    return out;
}

const UNAUTHENTICATED = grpc.status.UNAUTHENTICATED;

type Connection = Pick<PubSubStreamOptions, 'endpoint' | 'transport' | 'accessToken' | 'instanceUrl' | 'orgId'>;

/** A client of the PubSub service and the call metadata that authenticates the bridge (the proto's headers). */
function connect(options: Connection): { client: PubSubService; metadata: grpc.Metadata } {
    const Service = pubSubService();
    const credentials =
        options.transport === 'plaintext'
            ? grpc.credentials.createInsecure()
            : grpc.credentials.createSsl(null, null, null, {
                  rejectUnauthorized: options.transport === 'tls',
                  ...(options.transport === 'tls' ? {} : { checkServerIdentity: () => undefined })
              });
    // Unverified TLS is for loopback only; naming the server `localhost` keeps Node from warning about an IP
    // address as TLS server name (RFC 6066).
    const client = new Service(
        options.endpoint,
        credentials,
        options.transport === 'tls-unverified' ? { 'grpc.ssl_target_name_override': 'localhost' } : {}
    );
    const metadata = new grpc.Metadata();
    metadata.set('accesstoken', options.accessToken);
    metadata.set('instanceurl', options.instanceUrl);
    metadata.set('tenantid', options.orgId);
    return { client, metadata };
}

export interface TopicInfo {
    topicName: string;
    /** The user behind the token may subscribe (read access to the platform event). */
    canSubscribe: boolean;
    schemaId: string;
}

/**
 * `GetTopic` (pubsub_api.proto): whether the topic exists and this token may subscribe to it, without opening a
 * subscription (the operator's `doctor`). Rejects with the gRPC error (its `code`: UNAUTHENTICATED, NOT_FOUND,
 * UNAVAILABLE, DEADLINE_EXCEEDED…).
 */
export function getTopic(options: Connection & { topic: string; deadlineMs: number }): Promise<TopicInfo> {
    const { client, metadata } = connect(options);
    return new Promise<TopicInfo>((resolve, reject) => {
        client.GetTopic(
            { topicName: options.topic },
            metadata,
            { deadline: Date.now() + options.deadlineMs },
            (error, answer) => {
                if (error) reject(error);
                else
                    resolve({
                        topicName: answer?.topicName ?? options.topic,
                        canSubscribe: answer?.canSubscribe === true,
                        schemaId: answer?.schemaId ?? ''
                    });
            }
        );
    }).finally(() => client.close());
}

export function openPubSubStream(options: PubSubStreamOptions): PubSubStream {
    const { client, metadata } = connect(options);
    const schemas = new Map<string, Promise<avro.Type>>();
    let stopped = false;

    const schema = (schemaId: string): Promise<avro.Type> => {
        let known = schemas.get(schemaId);
        if (known === undefined) {
            known = new Promise<avro.Type>((resolve, reject) => {
                client.GetSchema({ schemaId }, metadata, (error, answer) => {
                    if (error || typeof answer?.schemaJson !== 'string') reject(error ?? new Error('no schema'));
                    else resolve(avro.parse(answer.schemaJson));
                });
            });
            schemas.set(schemaId, known);
            known.catch(() => schemas.delete(schemaId));
        }
        return known;
    };

    const call = client.Subscribe(metadata);
    // Responses are decoded one after the other, so events reach the caller in stream order even while a
    // schema is being fetched.
    let decoding: Promise<void> = Promise.resolve();

    const close = (reason: { unauthenticated: boolean; detail: string }): void => {
        if (stopped) return;
        stopped = true;
        call.cancel();
        client.close();
        options.onClosed(reason);
    };

    let ready = false;
    const isReady = (): void => {
        if (ready || stopped) return;
        ready = true;
        options.onReady();
    };
    call.on('metadata', isReady);
    call.on('data', (response: FetchResponse) => {
        isReady();
        decoding = decoding.then(async () => {
            if (stopped) return;
            const events = response.events ?? [];
            if (events.length === 0) {
                options.onKeepAlive(decodeReplayId(response.latestReplayId));
                return;
            }
            for (const consumer of events) {
                const replayId = decodeReplayId(consumer.replayId);
                const payload = consumer.event?.payload;
                const schemaId = consumer.event?.schemaId;
                if (replayId === null || payload === undefined || schemaId === undefined) continue;
                let fields: Record<string, unknown>;
                try {
                    fields = flatten((await schema(schemaId)).fromBuffer(payload) as Record<string, unknown>);
                } catch (error) {
                    if (stopped) return;
                    // Not handed on: the stream reconnects from the last stored replay id and reads it again.
                    close({
                        unauthenticated: false,
                        detail: `event ${replayId} could not be decoded: ${String(error).slice(0, 120)}`
                    });
                    return;
                }
                if (stopped) return;
                options.onEvent({ replayId, fields });
            }
        });
    });
    call.on('error', (error: grpc.ServiceError) => {
        void decoding.then(() =>
            close({
                unauthenticated: error.code === UNAUTHENTICATED,
                detail: `gRPC ${error.code} ${String(error.details ?? '').slice(0, 160)}`
            })
        );
    });
    call.on('end', () => {
        void decoding.then(() => close({ unauthenticated: false, detail: 'stream ended' }));
    });

    call.write({
        topicName: options.topic,
        replayPreset: options.replayId === null ? 0 : 2,
        ...(options.replayId === null ? {} : { replayId: encodeReplayId(options.replayId) }),
        numRequested: options.batch
    });

    return {
        requestMore() {
            if (!stopped) call.write({ topicName: options.topic, numRequested: options.batch });
        },
        stop() {
            if (stopped) return;
            stopped = true;
            call.cancel();
            client.close();
        }
    };
}
