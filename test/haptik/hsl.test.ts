import { formatHaptikTimestamp, parseHaptikTimestamp } from '../../bridge/src/haptik/chat-history';
import { hslToPlainText, textHsl } from '../../bridge/src/haptik/hsl';

describe('HSL', () => {
    it('serialises a TEXT message the way Haptik expects', () => {
        expect(JSON.parse(textHsl('Hello'))).toEqual({ text: 'Hello', type: 'TEXT', data: { quick_replies: [] } });
        expect(JSON.parse(textHsl('Pick', ['Yes']))).toEqual({
            text: 'Pick',
            type: 'TEXT',
            data: {
                quick_replies: [
                    {
                        actionable_text: 'Yes',
                        type: 'TEXT_ONLY',
                        is_default: 0,
                        payload: { message: 'Yes', gogo_message: '' }
                    }
                ]
            }
        });
    });

    it('round-trips text through textHsl and hslToPlainText', () => {
        expect(hslToPlainText(textHsl('Where is my order?'))).toBe('Where is my order?');
    });

    it('renders TEXT quick replies, BUTTON items and CAROUSEL cards', () => {
        const text = {
            text: 'Choose',
            type: 'TEXT',
            data: { quick_replies: [{ actionable_text: 'Track' }, { actionable_text: 'Agent' }] }
        };
        const button = { text: 'Menu', type: 'BUTTON', data: { items: [{ actionable_text: 'Call us', uri: 'CALL' }] } };
        const carousel = {
            text: 'Our plans',
            type: 'CAROUSEL',
            data: {
                width: 'MEDIUM',
                items: [
                    {
                        title: 'Basic',
                        sub_title: '$5',
                        description: 'For one',
                        actionables: [{ actionable_text: 'Buy' }]
                    },
                    { title: 'Pro', thumbnail: { image: 'https://x/y.png' } }
                ]
            }
        };

        expect(hslToPlainText(JSON.stringify(text))).toBe('Choose\nOptions: Track | Agent');
        expect(hslToPlainText(button)).toBe('Menu\nButtons: Call us');
        expect(hslToPlainText(carousel)).toBe('Our plans\n[1] Basic - $5 - For one (Buy)\n[2] Pro');
    });

    it('passes plain text through and joins lists of HSL', () => {
        expect(hslToPlainText('just text')).toBe('just text');
        expect(hslToPlainText('{not json')).toBe('{not json');
        expect(hslToPlainText([textHsl('one'), { text: 'two', type: 'SYSTEM', data: {} }])).toBe('one\ntwo');
        expect(hslToPlainText(null)).toBe('');
    });
});

describe('Haptik timestamps', () => {
    it('parses and formats the "06/22/20 07:24:25 AM UTC" shape', () => {
        expect(parseHaptikTimestamp('06/22/20 07:24:25 AM UTC')).toEqual(new Date('2020-06-22T07:24:25Z'));
        expect(parseHaptikTimestamp('06/22/20 12:05:00 AM UTC')).toEqual(new Date('2020-06-22T00:05:00Z'));
        expect(parseHaptikTimestamp('06/22/20 12:05:00 PM UTC')).toEqual(new Date('2020-06-22T12:05:00Z'));
        expect(parseHaptikTimestamp('yesterday')).toBeUndefined();
        expect(formatHaptikTimestamp(new Date('2020-06-22T19:24:25Z'))).toBe('06/22/20 07:24:25 PM UTC');
        expect(formatHaptikTimestamp(new Date('2020-06-22T00:00:01Z'))).toBe('06/22/20 12:00:01 AM UTC');
    });
});
