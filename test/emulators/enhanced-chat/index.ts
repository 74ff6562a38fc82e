/** The Enhanced Chat (Messaging for In-App and Web) emulator: SCRT2 REST + SSE and an agent control API. */
export { startEnhancedChatEmulator } from './enhanced-chat-emulator';
export type {
    ConversationEntry,
    EmulatedConversation,
    EnhancedChatEmulator,
    EnhancedChatEmulatorOptions,
    EnhancedChatFailure,
    EnhancedChatLimits,
    MessagingSessionStore,
    RecordedChatRequest,
    SessionStatus,
    SseEventType,
    StreamedEvent,
    UserMessage
} from './enhanced-chat-emulator';
