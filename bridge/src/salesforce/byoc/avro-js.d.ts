// Ambient types for avro-js (Apache Avro for JavaScript, no bundled types): only what the Pub/Sub client and emulator use.
declare module 'avro-js' {
    interface Type {
        toBuffer(value: unknown): Buffer;
        fromBuffer(buffer: Buffer): unknown;
    }
    const avro: {
        parse(schema: string | object, options?: object): Type;
    };
    namespace avro {
        export type { Type };
    }
    export default avro;
}
