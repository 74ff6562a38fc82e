/** The legacy Chat REST API (Live Agent) adapter of the handover core's ChatAdapter port. */
export { createLegacyChatAdapter } from './legacy-chat-adapter';
export type { LegacyChatAdapterOptions } from './legacy-chat-adapter';
export type { LegacyChatData } from './chat-session';
export { mapLiveAgentMessage } from './event-mapping';
export type { LegacyChatView, MappedLegacyMessage } from './event-mapping';
export { CONVERSATION_KEY_LABEL, chasitorInitBody } from './prechat';
export type { RetryPolicy } from './live-agent-client';
