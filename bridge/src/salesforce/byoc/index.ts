/** The Bring Your Own Channel (Interaction Service API + Pub/Sub API) adapter of the handover core's ChatAdapter port. */
export { byocEndUserId, createByocAdapter } from './byoc-adapter';
export type { ByocAdapterOptions, ByocChatData } from './byoc-adapter';
export { createByocAuth } from './byoc-auth';
export type { ByocAuth, ByocToken } from './byoc-auth';
export { createInteractionClient } from './interaction-client';
export type { InteractionClient } from './interaction-client';
export { mapByocEvent, parseByocEvent } from './event-mapping';
export type { OrgSubscriptionOptions } from './org-subscription';
export { channelDefinitionRecord, ensureChannelDefinition } from './channel-definition';
export type { ChannelDefinitionInput } from './channel-definition';
export { getTopic } from './pubsub-stream';
export type { TopicInfo } from './pubsub-stream';
