/** The Enhanced Chat (Messaging for In-App and Web) adapter of the handover core's ChatAdapter port. */
export { createEnhancedChatAdapter } from './enhanced-chat-adapter';
export type { EnhancedChatAdapterOptions, EnhancedChatData } from './enhanced-chat-adapter';
export { mapEnhancedChatEvent } from './event-mapping';
export type { ConversationView, MappedEvent } from './event-mapping';
export { createWindowLimiter } from './rate-limiter';
export type { WindowLimiter } from './rate-limiter';
export { isUuid, toChatUuid, uuidFromKey } from './chat-ids';
export type { ReconnectPolicy } from './sse-stream';
export type { RetryPolicy } from './scrt-client';
