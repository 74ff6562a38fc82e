import { z } from 'zod';
import { hslToPlainText } from './hsl';

/**
 * Haptik's chat history (get_chat_history v2, haptik.md §A2.4): `{"chat_json": [{text, sender,
 * message_id, timestamp}]}` with timestamps like "06/22/20 07:24:25 AM UTC" (MM/DD/YY, 12-hour clock).
 */
export interface ChatHistoryEntry {
    /** As Haptik sent it: plain text or an HSL JSON string. */
    text: string;
    /** Readable text (HSL rendered by hslToPlainText). */
    plainText: string;
    /** `user`, `bot` or the agent's name. */
    sender: string;
    messageId: string | undefined;
    /** As Haptik sent it. */
    timestamp: string;
    /** The parsed timestamp; undefined when Haptik's format could not be read. */
    at: Date | undefined;
}

const entrySchema = z.looseObject({
    text: z.unknown().optional(),
    sender: z.union([z.string(), z.number()]).nullish(),
    message_id: z.union([z.string(), z.number()]).nullish(),
    timestamp: z.union([z.string(), z.number()]).nullish()
});

export const chatHistoryResponseSchema = z.looseObject({
    chat_json: z.array(entrySchema).nullish(),
    chat_text: z.string().nullish()
});

const TIMESTAMP = /^(\d{2})\/(\d{2})\/(\d{2,4}) (\d{1,2}):(\d{2}):(\d{2}) (AM|PM)(?: UTC)?$/i;

/** Reads "06/22/20 07:24:25 AM UTC"; undefined for anything else. */
export function parseHaptikTimestamp(value: string): Date | undefined {
    const m = TIMESTAMP.exec(value.trim());
    if (!m) return undefined;
    const [, mm, dd, yy, hh, mi, ss, half] = m;
    const year = Number(yy) < 100 ? 2000 + Number(yy) : Number(yy);
    let hour = Number(hh) % 12;
    if (half?.toUpperCase() === 'PM') hour += 12;
    const date = new Date(Date.UTC(year, Number(mm) - 1, Number(dd), hour, Number(mi), Number(ss)));
    return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Writes a date the way Haptik does ("06/22/20 07:24:25 AM UTC"); used by the emulator and fixtures. */
export function formatHaptikTimestamp(date: Date): string {
    const two = (n: number): string => String(n).padStart(2, '0');
    const hour = date.getUTCHours();
    const half = hour < 12 ? 'AM' : 'PM';
    const hour12 = hour % 12 === 0 ? 12 : hour % 12;
    return (
        `${two(date.getUTCMonth() + 1)}/${two(date.getUTCDate())}/${two(date.getUTCFullYear() % 100)} ` +
        `${two(hour12)}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} ${half} UTC`
    );
}

/** The entries of a get_chat_history answer; a `chat_text` answer is split into `sender: text` lines. */
export function chatHistoryEntries(response: z.infer<typeof chatHistoryResponseSchema>): ChatHistoryEntry[] {
    if (response.chat_json) {
        return response.chat_json.map((entry) => {
            const text =
                typeof entry.text === 'string' ? entry.text : entry.text == null ? '' : JSON.stringify(entry.text);
            const timestamp = entry.timestamp == null ? '' : String(entry.timestamp);
            return {
                text,
                plainText: hslToPlainText(text),
                sender: entry.sender == null ? 'unknown' : String(entry.sender),
                messageId: entry.message_id == null ? undefined : String(entry.message_id),
                timestamp,
                at: parseHaptikTimestamp(timestamp)
            };
        });
    }
    return (response.chat_text ?? '')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => {
            const colon = line.indexOf(': ');
            const sender = colon > 0 ? line.slice(0, colon) : 'unknown';
            const text = colon > 0 ? line.slice(colon + 2) : line;
            return {
                text,
                plainText: hslToPlainText(text),
                sender,
                messageId: undefined,
                timestamp: '',
                at: undefined
            };
        });
}
