/** The Live Agent (legacy Chat REST API) emulator: visitor-side REST with long polls and an agent control API. */
export { HAPTIK_KEY_LABEL, startLiveAgentEmulator } from './live-agent-emulator';
export type {
    LiveAgentCall,
    LiveAgentChat,
    LiveAgentEmulator,
    LiveAgentEmulatorOptions,
    LiveAgentFailure,
    LiveAgentMessage,
    PrechatDetail,
    RecordedLiveAgentRequest,
    TranscriptStore
} from './live-agent-emulator';
