import type { Migration } from './migration';

/**
 * Schema v4 (issue 15): the TRACT access token all instances share, and Haptik user names.
 *
 * `tract_tokens` holds one row per TRACT client: the token in use, when it expires and when to renew it,
 * and a short lease (`lease_owner`, `lease_until`, judged by the database clock) held by the one instance
 * that is issuing the next token, so several instances never storm Haptik with signed issue requests.
 *
 * `haptik_users` remembers each user's Haptik `user_name` (integration calls and webhooks carry it, TRACT
 * hooks do not): `get_chat_history` needs it to file a transcript from a TRACT `complete` hook alone.
 */
export const haptikTract: Migration = {
    version: 4,
    name: 'haptik-tract',
    statements: [
        `CREATE TABLE tract_tokens (
            key text PRIMARY KEY,
            token text,
            expires_at timestamptz,
            refresh_at timestamptz,
            issued_at timestamptz,
            lease_owner text,
            lease_until timestamptz
        )`,
        `CREATE TABLE haptik_users (
            business_id text NOT NULL,
            user_id text NOT NULL,
            user_name text NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (business_id, user_id)
        )`
    ]
};
