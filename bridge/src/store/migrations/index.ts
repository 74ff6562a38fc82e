import type { Migration } from './migration';
import { initialSchema } from './0001-initial';
import { outboxResult } from './0002-outbox-result';
import { streamLeases } from './0003-stream-leases';
import { haptikTract } from './0004-haptik-tract';
import { byocEvents } from './0005-byoc-events';
import { handoverFiles } from './0006-handover-files';

export type { Migration } from './migration';

/** Every migration, in version order. Append new ones; never edit one that has shipped. */
export const MIGRATIONS: readonly Migration[] = [
    initialSchema,
    outboxResult,
    streamLeases,
    haptikTract,
    byocEvents,
    handoverFiles
];
