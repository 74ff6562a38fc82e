/**
 * What counts as a user's file in a TRACT message (bridge/src/haptik/user-files.ts), and the HSL the bridge sends
 * an agent's file as. The upload shapes are our reading of Haptik's HSL (Haptik documents no upload format):
 * when real traffic shows another, this test and that one module change together.
 */
import { parseHostRules } from '../../bridge/src/files/host-rules';
import { HAPTIK_ASSET_HOSTS } from '../../bridge/src/files/host-rules';
import { documentHsl, hslToPlainText, imageHsl } from '../../bridge/src/haptik/hsl';
import { parseUserUpload } from '../../bridge/src/haptik/user-files';

const HOSTS = parseHostRules(HAPTIK_ASSET_HOSTS).rules;
const PHOTO = 'https://haptikappimg.s3.amazonaws.com/uploads/parcel%20front.jpg';
const INVOICE = 'https://assets.haptikapi.com/files/invoice-2291.pdf';

describe('parseUserUpload', () => {
    it('takes a one-item carousel as an image, with its text as the caption', () => {
        const body = JSON.stringify({
            text: 'the box arrived like this',
            type: 'CAROUSEL',
            data: { items: [{ thumbnail: { image: PHOTO }, title: '', actionables: [] }] }
        });

        expect(parseUserUpload(body, HOSTS)).toEqual({
            files: [{ url: PHOTO, kind: 'image', name: 'parcel front.jpg', source: 'carousel' }],
            caption: 'the box arrived like this'
        });
    });

    it('takes a carousel image from any host (the fetcher decides later) and counts its own open button once', () => {
        const elsewhere = 'https://cdn.example.com/x/photo.png';
        const body = JSON.stringify({
            text: '',
            type: 'CAROUSEL',
            data: {
                items: [
                    {
                        thumbnail: { image: elsewhere },
                        title: 'Damage',
                        actionables: [{ uri: 'LINK', type: 'APP_ACTION', payload: { url: elsewhere } }]
                    }
                ]
            }
        });

        expect(parseUserUpload(body, HOSTS)?.files).toEqual([
            { url: elsewhere, kind: 'image', name: 'Damage', source: 'carousel' }
        ]);
    });

    it('takes a LINK actionable on a file host as a document, and ignores one elsewhere', () => {
        const button = (url: string) =>
            JSON.stringify({
                text: 'my invoice',
                type: 'BUTTON',
                data: { items: [{ actionable_text: 'Open', uri: 'LINK', type: 'APP_ACTION', payload: { url } }] }
            });

        expect(parseUserUpload(button(INVOICE), HOSTS)).toEqual({
            files: [{ url: INVOICE, kind: 'document', name: 'invoice-2291.pdf', source: 'link' }],
            caption: 'my invoice'
        });
        expect(parseUserUpload(button('https://example.com/invoice.pdf'), HOSTS)).toBeUndefined();
    });

    it('takes file-typed elements with a URL field', () => {
        const body = JSON.stringify({
            text: '',
            type: 'DOCUMENT',
            data: { file_url: INVOICE, file_name: 'Invoice March.pdf' }
        });

        expect(parseUserUpload(body, HOSTS)?.files).toEqual([
            { url: INVOICE, kind: 'document', name: 'Invoice March.pdf', source: 'file_element' }
        ]);
    });

    it('takes URLs on a file host out of plain text, keeps the rest as the caption, and leaves other links alone', () => {
        expect(parseUserUpload(`here: ${PHOTO}, and ${INVOICE}.`, HOSTS)).toEqual({
            files: [
                { url: PHOTO, kind: 'image', name: 'parcel front.jpg', source: 'text' },
                { url: INVOICE, kind: 'document', name: 'invoice-2291.pdf', source: 'text' }
            ],
            caption: 'here: , and .'
        });
        expect(parseUserUpload('see https://example.com/order/1 please', HOSTS)).toBeUndefined();
        expect(parseUserUpload('just text', HOSTS)).toBeUndefined();
        expect(parseUserUpload(JSON.stringify({ text: 'hello', type: 'TEXT', data: {} }), HOSTS)).toBeUndefined();
    });

    it('does not take other schemes, over-long URLs, or more than ten files as an upload', () => {
        const carousel = (images: string[]) =>
            JSON.stringify({
                text: '',
                type: 'CAROUSEL',
                data: { items: images.map((image) => ({ thumbnail: { image } })) }
            });

        expect(parseUserUpload(carousel(['javascript:alert(1)', 'file:///etc/passwd']), HOSTS)).toBeUndefined();
        expect(parseUserUpload(carousel([`https://a.com/${'x'.repeat(3000)}.png`]), HOSTS)).toBeUndefined();
        const eleven = Array.from({ length: 11 }, (_, i) => `https://assets.haptikapi.com/${i}.png`);
        expect(parseUserUpload(carousel(eleven), HOSTS)).toBeUndefined();
        expect(parseUserUpload(carousel(eleven.slice(0, 2)), HOSTS)?.files).toHaveLength(2);
    });
});

describe('HSL for an agent file', () => {
    it('sends an image as a one-item CAROUSEL whose thumbnail is the link', () => {
        const link = 'https://bridge.example.com/files/abc.def';
        const hsl = JSON.parse(imageHsl(link, { caption: 'Your label' })) as {
            text: string;
            type: string;
            data: { items: Array<{ thumbnail: { image: string }; actionables: Array<Record<string, unknown>> }> };
        };

        expect(hsl.type).toBe('CAROUSEL');
        expect(hsl.text).toBe('Your label');
        expect(hsl.data.items).toHaveLength(1);
        expect(hsl.data.items[0]?.thumbnail.image).toBe(link);
        expect(hsl.data.items[0]?.actionables[0]).toMatchObject({ uri: 'LINK', payload: { url: link } });
        // And the bridge reads its own image back as an image.
        expect(parseUserUpload(imageHsl('https://assets.haptikapi.com/a.png'), HOSTS)?.files[0]?.kind).toBe('image');
    });

    it('sends a document as a BUTTON with a LINK actionable, named in the text', () => {
        const link = 'https://bridge.example.com/files/abc.def';
        const hsl = JSON.parse(documentHsl(link, 'return-label.pdf', { caption: 'Print this' })) as {
            text: string;
            type: string;
            data: { items: Array<Record<string, unknown>> };
        };

        expect(hsl).toEqual({
            text: 'Print this\nreturn-label.pdf',
            type: 'BUTTON',
            data: {
                items: [
                    {
                        actionable_text: 'Open file',
                        location_required: false,
                        is_default: 0,
                        uri: 'LINK',
                        type: 'APP_ACTION',
                        payload: { url: link, gogo_message: '', message: '' }
                    }
                ]
            }
        });
        expect(hslToPlainText(documentHsl(link, 'return-label.pdf'))).toBe('return-label.pdf\nButtons: Open file');
        expect(
            (
                JSON.parse(documentHsl(link, 'x.pdf', { openLabel: 'Download the return label' })) as {
                    data: { items: Array<{ actionable_text: string }> };
                }
            ).data.items[0]?.actionable_text
        ).toHaveLength(20);
    });
});
