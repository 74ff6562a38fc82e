// The Haptik emulator (outbound calls of the bridge) and sender (inbound calls to the bridge).
export * from './haptik-emulator';
export * from './haptik-sender';
export * from './tract-token-issuer';
