import { chatHistoryEntries } from '../../bridge/src/haptik/chat-history';
import {
    attachmentLine,
    fitTranscript,
    formatFileSize,
    formatTranscriptTime,
    historySender,
    mergeTranscriptEntries,
    renderTranscript,
    TRANSCRIPT_FIELD_LIMIT,
    transcriptFileLine,
    transcriptFileName,
    transcriptSummary,
    withFileLines
} from '../../bridge/src/core/transcript';
import type { TranscriptEntry } from '../../bridge/src/core/transcript';

const names = { user: 'Asha Rao', bot: 'Bot', agent: 'Agent' };
const at = (hhmmss: string): Date => new Date(`2026-11-25T${hhmmss}Z`);

function fromHistory(chatJson: Array<Record<string, unknown>>): TranscriptEntry[] {
    return chatHistoryEntries({ chat_json: chatJson }).map((e) => ({
        at: e.at,
        ...historySender(e.sender),
        text: e.plainText,
        messageId: e.messageId
    }));
}

describe('renderTranscript', () => {
    it('writes one line per message with UTC time and sender name', () => {
        const text = renderTranscript(
            [
                { at: at('10:00:05'), role: 'user', text: 'Hi' },
                { at: at('10:00:06'), role: 'bot', text: 'Hello Asha' },
                { at: at('10:02:00'), role: 'agent', name: 'Ravi K', text: 'Ravi here' },
                { at: undefined, role: 'agent', text: 'Anyone?' }
            ],
            names
        );
        expect(text.split('\n')).toEqual([
            '[2026-11-25 10:00:05 UTC] Asha Rao: Hi',
            '[2026-11-25 10:00:06 UTC] Bot: Hello Asha',
            '[2026-11-25 10:02:00 UTC] Ravi K: Ravi here',
            '[time unknown] Agent: Anyone?'
        ]);
    });

    it('renders HSL quick replies, buttons and carousels from get_chat_history as readable text', () => {
        const quickReplies = JSON.stringify({
            text: 'What do you need?',
            type: 'TEXT',
            data: {
                quick_replies: [
                    { actionable_text: 'Track order', type: 'TEXT_ONLY', is_default: 0, payload: { message: 'track' } },
                    { actionable_text: 'Refund', type: 'TEXT_ONLY', is_default: 0, payload: { message: 'refund' } }
                ]
            }
        });
        const button = JSON.stringify({
            text: 'Open the portal',
            type: 'BUTTON',
            data: { items: [{ actionable_text: 'Portal', uri: 'LINK', type: 'APP_ACTION', payload: {} }] }
        });
        const carousel = JSON.stringify({
            text: 'Pick a plan',
            type: 'CAROUSEL',
            data: {
                width: 'MEDIUM',
                items: [
                    { title: 'Basic', sub_title: '$5', actionables: [{ actionable_text: 'Choose Basic' }] },
                    { title: 'Pro', description: 'All features', actionables: [] }
                ]
            }
        });
        const entries = fromHistory([
            { text: quickReplies, sender: 'bot', message_id: 1, timestamp: '11/25/26 10:00:05 AM UTC' },
            { text: button, sender: 'bot', message_id: 2, timestamp: '11/25/26 10:00:06 AM UTC' },
            { text: carousel, sender: 'bot', message_id: 3, timestamp: '11/25/26 10:00:07 AM UTC' },
            { text: 'Refund', sender: 'user', message_id: 4, timestamp: '11/25/26 10:00:09 PM UTC' }
        ]);
        expect(renderTranscript(entries, names)).toBe(
            [
                '[2026-11-25 10:00:05 UTC] Bot: What do you need?',
                '    Options: Track order | Refund',
                '[2026-11-25 10:00:06 UTC] Bot: Open the portal',
                '    Buttons: Portal',
                '[2026-11-25 10:00:07 UTC] Bot: Pick a plan',
                '    [1] Basic - $5 (Choose Basic)',
                '    [2] Pro - All features',
                '[2026-11-25 22:00:09 UTC] Asha Rao: Refund'
            ].join('\n')
        );
    });

    it('formats times as UTC whatever the input zone', () => {
        expect(formatTranscriptTime(new Date('2026-11-25T15:30:05+05:30'))).toBe('2026-11-25 10:00:05 UTC');
    });
});

describe('historySender', () => {
    it('reads user, bot and agent names', () => {
        expect(historySender('user')).toEqual({ role: 'user' });
        expect(historySender('bot')).toEqual({ role: 'bot' });
        expect(historySender('Ravi K')).toEqual({ role: 'agent', name: 'Ravi K' });
    });
});

describe('mergeTranscriptEntries', () => {
    const history: TranscriptEntry[] = [
        { at: at('10:00:00'), role: 'user', text: 'I want an agent', messageId: '11' },
        { at: at('10:00:01'), role: 'bot', text: 'Connecting you', messageId: '12' },
        { at: at('10:03:00'), role: 'user', text: 'Thanks,   bye', messageId: '15' }
    ];
    const bridgeLog: TranscriptEntry[] = [
        { at: at('10:01:00'), role: 'agent', name: 'Ravi K', text: 'Hi, Ravi here', messageId: 'sf-1' },
        { at: at('10:01:30'), role: 'user', text: 'My order is late', messageId: '13' },
        { at: at('10:02:00'), role: 'agent', name: 'Ravi K', text: 'It ships today', messageId: 'sf-2' },
        { at: at('10:03:02'), role: 'user', text: 'thanks, bye', messageId: 'tract-99' }
    ];

    it('orders both sources by time and keeps a message present in both once', () => {
        const merged = mergeTranscriptEntries(history, bridgeLog, 120_000);
        expect(merged.map((e) => `${e.role}:${e.text}`)).toEqual([
            'user:I want an agent',
            'bot:Connecting you',
            'agent:Hi, Ravi here',
            'user:My order is late',
            'agent:It ships today',
            'user:Thanks,   bye'
        ]);
    });

    it('de-duplicates by message id across sources', () => {
        const merged = mergeTranscriptEntries(
            [{ at: at('10:00:00'), role: 'user', text: 'hello', messageId: '42' }],
            [{ at: at('10:00:00'), role: 'user', text: 'hello (relayed)', messageId: '42' }],
            0
        );
        expect(merged).toHaveLength(1);
        expect(merged[0]!.text).toBe('hello');
    });

    it("keeps the bridge's attachment lines when Haptik's history has the same message as a card", () => {
        const merged = mergeTranscriptEntries(
            [{ at: at('10:00:00'), role: 'user', text: 'parcel.jpg', messageId: '42' }],
            [
                {
                    at: at('10:00:00'),
                    role: 'user',
                    text: `Broken\n${attachmentLine('user', 'parcel.jpg', 'image')}`,
                    messageId: '42'
                }
            ],
            0
        );
        expect(merged.map((e) => e.text)).toEqual(['parcel.jpg\n[user file] parcel.jpg (image)']);
    });

    it('keeps the same words said again much later', () => {
        const merged = mergeTranscriptEntries(
            [{ at: at('10:00:00'), role: 'user', text: 'yes' }],
            [{ at: at('10:30:00'), role: 'user', text: 'yes' }],
            120_000
        );
        expect(merged).toHaveLength(2);
    });

    it('takes the agent name from the bridge when Haptik has the same message without one', () => {
        const merged = mergeTranscriptEntries(
            [{ at: at('10:00:00'), role: 'agent', text: 'Hello' }],
            [{ at: at('10:00:02'), role: 'agent', name: 'Ravi K', text: 'Hello' }],
            120_000
        );
        expect(merged).toEqual([{ at: at('10:00:00'), role: 'agent', name: 'Ravi K', text: 'Hello' }]);
    });

    it('keeps untimed entries after the entry before them', () => {
        const merged = mergeTranscriptEntries(
            [
                { at: at('10:00:00'), role: 'bot', text: 'one' },
                { at: undefined, role: 'bot', text: 'two' },
                { at: at('10:05:00'), role: 'bot', text: 'four' }
            ],
            [{ at: at('10:01:00'), role: 'agent', text: 'three' }],
            0
        );
        expect(merged.map((e) => e.text)).toEqual(['one', 'two', 'three', 'four']);
    });
});

describe('fitTranscript', () => {
    it('keeps a transcript that fits whole', () => {
        expect(fitTranscript('short', 'transcript-x.txt')).toEqual({ fieldText: 'short', overflow: false });
    });

    it('splits a 200,000-character transcript: the beginning plus a note, within the field limit', () => {
        const line = '[2026-11-25 10:00:05 UTC] Asha Rao: ' + 'x'.repeat(60);
        const lines: string[] = [];
        while (lines.join('\n').length < 200_000) lines.push(`${line} ${lines.length}`);
        const text = lines.join('\n').slice(0, 200_000);
        const fileName = transcriptFileName('343:u-1:7');
        const fitted = fitTranscript(text, fileName);
        expect(text.length).toBe(200_000);
        expect(fitted.overflow).toBe(true);
        expect(fitted.fieldText.length).toBeLessThanOrEqual(TRANSCRIPT_FIELD_LIMIT);
        expect(fitted.fieldText.length).toBeGreaterThan(TRANSCRIPT_FIELD_LIMIT - 2_500);
        expect(
            fitted.fieldText.endsWith('\n… (transcript continues in the attached file transcript-343:u-1:7.txt)')
        ).toBe(true);
        const body = fitted.fieldText.slice(0, fitted.fieldText.lastIndexOf('\n…'));
        expect(text.startsWith(body)).toBe(true);
        // The cut falls at a line end, so no message is shown half.
        expect(text.charAt(body.length)).toBe('\n');
    });
});

describe('transcriptSummary', () => {
    it('counts messages per sender and gives the time span', () => {
        const summary = transcriptSummary(
            [
                { at: at('10:00:00'), role: 'user', text: 'a' },
                { at: at('10:00:01'), role: 'bot', text: 'b' },
                { at: at('10:04:00'), role: 'agent', text: 'c' }
            ],
            { channel: 'WhatsApp', conversationNo: '7', completion: 'agent', closingReason: 'Resolved' }
        );
        expect(summary).toContain('conversation 7 on WhatsApp: 3 messages (user 1, bot 1, agent 1)');
        expect(summary).toContain('From 2026-11-25 10:00:00 UTC to 2026-11-25 10:04:00 UTC');
        expect(summary).toContain('Closing reason: Resolved');
    });
});

describe('file lines (issue 18)', () => {
    it('says a size the way people read it', () => {
        expect(formatFileSize(0)).toBe('0 bytes');
        expect(formatFileSize(1)).toBe('1 byte');
        expect(formatFileSize(1023)).toBe('1023 bytes');
        expect(formatFileSize(1024)).toBe('1 KB');
        expect(formatFileSize(40 * 1024)).toBe('40 KB');
        expect(formatFileSize(Math.round(2.4 * 1024 * 1024))).toBe('2.4 MB');
        expect(formatFileSize(1536)).toBe('1.5 KB');
        // Just under a megabyte rounds to one, not to "1024 KB".
        expect(formatFileSize(1024 * 1024 - 10)).toBe('1 MB');
        expect(formatFileSize(3 * 1024 ** 3)).toBe('3 GB');
    });

    it('names sender, file, type and size, "size unknown" when never known, and why a file is not on the Case', () => {
        expect(
            transcriptFileLine({ sender: 'user', name: 'parcel.jpg', contentType: 'image/jpeg', size: 307_200 })
        ).toBe('[user file] parcel.jpg (image/jpeg, 300 KB)');
        expect(transcriptFileLine({ sender: 'agent', name: 'label.pdf', contentType: 'application/pdf' })).toBe(
            '[agent file] label.pdf (application/pdf, size unknown)'
        );
        expect(
            transcriptFileLine({
                sender: 'user',
                name: 'scan.pdf',
                contentType: 'document',
                notAttached: 'the file is no longer available'
            })
        ).toBe(
            '[user file] scan.pdf (document, size unknown): not attached to the Case (the file is no longer available)'
        );
    });

    it("rewrites a logged message's file lines from what is known now, keeping what the sender wrote", () => {
        const logged = `Look at this\n\nsecond line\n${attachmentLine('user', 'a.jpg', 'image')}\n${attachmentLine('user', 'b.pdf', 'document')}`;
        expect(
            withFileLines(logged, [
                { sender: 'user', name: 'a.jpg', contentType: 'image/jpeg', size: 2048 },
                { sender: 'user', name: 'b.pdf', contentType: 'application/pdf' }
            ])
        ).toBe(
            'Look at this\n\nsecond line\n[user file] a.jpg (image/jpeg, 2 KB)\n[user file] b.pdf (application/pdf, size unknown)'
        );
        expect(withFileLines(attachmentLine('agent', 'x.png', 'image/png'), [])).toBe('[agent file] x.png (image/png)');
        expect(
            withFileLines(attachmentLine('agent', 'x.png', 'image/png'), [
                { sender: 'agent', name: 'x.png', contentType: 'image/png', size: 10 }
            ])
        ).toBe('[agent file] x.png (image/png, 10 bytes)');
    });
});
