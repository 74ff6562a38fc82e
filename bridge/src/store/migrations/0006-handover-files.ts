import type { Migration } from './migration';

/**
 * Schema v6 (issue 18, item 4): the files of a handover, one row each, both ways. The transcript lists them with
 * what the bridge learnt of them after the message was logged (type and size from the download, whether they were
 * linked to the Case), and BRIDGE_TRANSCRIPT_FILES=link records each file's ContentVersion here once it exists.
 *
 * `id` is the file's stable key (`user:<handover>:<Haptik message>:<n>`, `agent:<handover>:<chat entry>:<n>`),
 * so a message seen again records nothing new. `message_id` is the message log's external id of the message that
 * carried the file; `source_url` where it came from (a Haptik asset URL, or the chat's attachment URL, which only
 * the chat's credentials open), `source_id` the chat's attachment id (agent files: how a signed link names it).
 * `not_attached` is why a file could not be linked to the Case (a reason code, never a URL or a name).
 */
export const handoverFiles: Migration = {
    version: 6,
    name: 'handover-files',
    statements: [
        `CREATE TABLE handover_files (
            id text PRIMARY KEY,
            conversation_key text NOT NULL,
            handover_id text NOT NULL REFERENCES handover_sessions (id),
            message_id text NOT NULL,
            position integer NOT NULL,
            sender text NOT NULL CHECK (sender IN ('user', 'agent')),
            name text NOT NULL,
            content_type text NOT NULL,
            size_bytes bigint,
            source_url text NOT NULL,
            source_id text,
            content_version_id text,
            not_attached text,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )`,
        `CREATE INDEX handover_files_conversation_idx ON handover_files (conversation_key, created_at)`,
        `CREATE INDEX handover_files_source_idx ON handover_files (handover_id, source_id) WHERE source_id IS NOT NULL`
    ]
};
