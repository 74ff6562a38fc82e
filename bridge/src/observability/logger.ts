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
    /** Where lines go; tests pass a stream to read what was logged. */
    destination?: DestinationStream;
}

export function createLogger(settings: LoggerSettings = {}): Logger {
    const options: LoggerOptions = {
        level: settings.level ?? 'info',
        base: { service: 'haptik-bridge' },
        redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
        formatters: { level: (label) => ({ level: label }) }
    };
    return settings.destination ? pino(options, settings.destination) : pino(options);
}

/** A logger that drops everything; for tests and tools that print their own output. */
export function silentLogger(): Logger {
    return pino({ level: 'silent' });
}
