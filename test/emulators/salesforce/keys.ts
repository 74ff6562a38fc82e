/** RSA key pairs for the JWT bearer flow in tests and the demo (never for production). */
import { generateKeyPairSync } from 'node:crypto';

export interface TestKeyPair {
    /** PKCS#8 PEM, what SF_PRIVATE_KEY holds. */
    privateKey: string;
    /** SPKI PEM, what the emulator (in place of the Connected App certificate) verifies with. */
    publicKey: string;
}

export function generateTestKeyPair(): TestKeyPair {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' }
    });
    return { privateKey, publicKey };
}
