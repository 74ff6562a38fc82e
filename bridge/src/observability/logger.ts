import pino from 'pino';
import type { Logger, LoggerOptions, DestinationStream } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths pino blanks out wherever they appear in a log object. Secrets and tokens first, then the
 * personal data a Haptik or Salesforce payload can carry; logs must never hold either.
 */
export const REDACTED_PATHS: readonly string[] = [
    'password',
    'secret',
    'token',
    'accessToken',
    'access_token',
    'refresh_token',
    'assertion',
    'clientSecret',
    'client_secret',
    'privateKey',
    'apiToken',
    'authorization',
    'Authorization',
    'headers.authorization',
    'headers["x-hub-signature"]',
    'headers["x-hub-signature-256"]',
    'req.headers.authorization',
    'req.headers["x-hub-signature"]',
    'req.headers["x-hub-signature-256"]',
    'req.headers.cookie',
    // The hook token travels in the URL's query (`?key=`): a URL or query never reaches a log line whole.
    'req.url',
    'req.originalUrl',
    'req.query',
    'hookToken',
    '*.hookToken',
    'email',
    'phone',
    'mobile_no',
    'name',
    'full_name',
    'user_name',
    'first_name',
    'last_name',
    'message_body',
    'text',
    'body',
    '*.password',
    '*.secret',
    '*.token',
    '*.accessToken',
    '*.access_token',
    '*.assertion',
    '*.clientSecret',
    '*.privateKey',
    '*.apiToken',
    '*.authorization',
    '*.email',
    '*.phone',
    '*.mobile_no',
    '*.full_name',
    '*.user_name',
    '*.first_name',
    '*.last_name',
    '*.message_body',
    '*.body'
];

export interface LoggerSettings {
    level?: string;
    /** Where lines go (default: stdout, buffered: see logDestination); tests pass a stream to read what was logged. */
    destination?: DestinationStream;
}

/** Lines are written when this many bytes are waiting… */
export const LOG_BUFFER_BYTES = 4096;
/** …or after this long, whichever comes first; and at exit. */
export const LOG_FLUSH_MS = 250;

/**
 * Where the bridge's lines go: a file descriptor (default stdout) or a file, written in batches rather than with
 * one write system call per line (which cost each request as much as the rest of its logging). A line reaches
 * the output within LOG_FLUSH_MS; pino flushes what is waiting when the process exits, even on a fatal error.
 * Only a process killed outright (SIGKILL, out of memory) can lose the last LOG_FLUSH_MS of lines.
 */
export function logDestination(dest: number | string = 1): DestinationStream {
    return pino.destination({ dest, sync: false, minLength: LOG_BUFFER_BYTES, periodicFlush: LOG_FLUSH_MS });
}

export function createLogger(settings: LoggerSettings = {}): Logger {
    const options: LoggerOptions = {
        level: settings.level ?? 'info',
        base: { service: 'haptik-bridge' },
        redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
        formatters: { level: (label) => ({ level: label }) }
    };
    return pino(options, settings.destination ?? logDestination());
}

/**
 * A logger for lines whose fields are fixed and hold nothing personal or secret by construction (the HTTP access
 * line: request id, method, route pattern, status, duration). It skips redaction, which costs a line about ten
 * times what writing it does (REDACTED_PATHS has wildcards that pino walks for every line): it must never be
 * given a payload, a URL or an error object.
 */
export function fixedFieldsLogger(logger: Logger): Logger {
    return logger.child({}, { redact: { paths: [] } });
}

/** A logger that drops everything; for tests and tools that print their own output. */
export function silentLogger(): Logger {
    return pino({ level: 'silent' });
}
