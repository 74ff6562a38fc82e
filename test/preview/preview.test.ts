// Renders the compiled component outside Salesforce (LWC OSS + lightning-base-components + SLDS)
// in headless Chromium and checks what an agent would read; the screenshot lands in .artifacts/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sparticuz from '@sparticuz/chromium';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { startPreviewServer } from '../../scripts/preview-server';
import type { PreviewServer } from '../../scripts/preview-server';

const APP = 'preview/dist/app.js';
const SCREENSHOTS = '.artifacts/preview';
const INPUTS = [
    'force-app/main/default/lwc',
    'preview/src',
    'preview/stubs',
    'preview/sample-records.js',
    'preview/rollup.config.mjs'
];

function newestInput(path: string): number {
    const stat = statSync(path);
    if (!stat.isDirectory()) {
        return stat.mtimeMs;
    }
    return Math.max(0, ...readdirSync(path).map((name) => newestInput(join(path, name))));
}

/** Rebuilds the preview only when the component or the preview sources changed since the last build. */
function ensureFreshBuild(): void {
    if (existsSync(APP) && statSync(APP).mtimeMs > Math.max(...INPUTS.map(newestInput))) {
        return;
    }
    rmSync('preview/dist', { recursive: true, force: true });
    execFileSync(
        process.execPath,
        ['node_modules/rollup/dist/bin/rollup', '-c', 'preview/rollup.config.mjs', '--silent'],
        {
            stdio: 'inherit'
        }
    );
}

describe('browser preview of c-haptik-bot-context', () => {
    let server: PreviewServer;
    let browser: Browser;
    let page: Page;
    const pageErrors: string[] = [];

    beforeAll(async () => {
        ensureFreshBuild();
        server = await startPreviewServer({ root: process.cwd(), port: 0 });
        // Chromium from npm (@sparticuz/chromium): no system package, so `npm install` is all a machine needs.
        // executablePath() unpacks it to the temp dir once and sets the library path it needs in this process.
        browser = await chromium.launch({
            executablePath: await sparticuz.executablePath(),
            headless: true,
            args: [
                ...sparticuz.args,
                '--disable-quic',
                '--no-first-run',
                '--disable-background-networking',
                '--disable-component-update',
                '--disable-sync'
            ]
        });
        page = await browser.newPage({ viewport: { width: 520, height: 900 } });
        page.on('pageerror', (error) => pageErrors.push(error.message));
    }, 180_000);

    afterAll(async () => {
        await browser?.close();
        await server?.close();
    });

    const text = async (selector: string): Promise<string> =>
        ((await page.locator(`c-haptik-bot-context ${selector}`).first().textContent()) ?? '').trim();
    const texts = async (selector: string): Promise<string[]> =>
        (await page.locator(`c-haptik-bot-context ${selector}`).allTextContents()).map((t) => t.trim());

    it('shows the bot context of the Case linked to a Messaging Session', async () => {
        await page.goto(server.url, { waitUntil: 'networkidle' });
        await page.locator('c-haptik-bot-context .customer-name').waitFor();

        expect(await text('.customer-name')).toBe('Asha Verma');
        expect(await text('.case-number')).toBe('Case 00001043');
        expect(await texts('.why-list dd')).toEqual(['Refund request', 'user asked for an agent']);
        expect(await texts('.entity-list dt')).toEqual(['Order id', 'Refund amount', 'Delivery address']);
        expect((await texts('.entity-list dd')).slice(0, 2)).toEqual(['A-1001', '1,499 INR']);
        expect(await text('a.crm-link')).toBe('Asha Verma');
        expect(await page.locator('c-haptik-bot-context a.crm-link').getAttribute('href')).toBe(
            '#/lightning/r/Contact/003xx000004TmiQAAS/view'
        );
        expect(await texts('.message-text')).toEqual([
            'My order A-1001 arrived damaged. I want a refund.',
            'Sorry about that! Can you confirm the order number?',
            'A-1001. Please let me talk to a person.',
            'Connecting you to an agent now.'
        ]);
        // SLDS is applied: the card is styled, not bare markup.
        // Runs in the page; the test itself compiles without the DOM lib, hence the local type.
        type StyleWindow = { getComputedStyle(element: unknown): { backgroundColor: string } };
        const cardBackground = await page
            .locator('c-haptik-bot-context article.slds-card')
            .evaluate((el: unknown) => (globalThis as unknown as StyleWindow).getComputedStyle(el).backgroundColor);
        expect(cardBackground).toBe('rgb(255, 255, 255)');

        mkdirSync(SCREENSHOTS, { recursive: true });
        await page.screenshot({ path: join(SCREENSHOTS, 'haptik-bot-context.png'), fullPage: true });
        expect(pageErrors).toEqual([]);
    });

    it('collapses the recent messages from the keyboard-reachable toggle', async () => {
        const toggle = page.locator('c-haptik-bot-context button.messages-toggle');
        expect(await toggle.getAttribute('aria-expanded')).toBe('true');
        await toggle.click();
        expect(await toggle.getAttribute('aria-expanded')).toBe('false');
        expect(await page.locator('c-haptik-bot-context .message-list').isVisible()).toBe(false);
    });

    it('keeps every label readable at the width of a console sidebar', async () => {
        await page.setViewportSize({ width: 400, height: 900 });
        await page.goto(server.url, { waitUntil: 'networkidle' });
        await page.locator('c-haptik-bot-context .customer-name').waitFor();
        // Runs in the page; the test itself compiles without the DOM lib, hence the local type.
        type Box = { scrollWidth: number; clientWidth: number; textContent: string | null };
        const labels = await page.locator('c-haptik-bot-context dt').evaluateAll((nodes: unknown[]) =>
            (nodes as Box[]).map((n) => ({
                text: (n.textContent ?? '').trim(),
                cut: n.scrollWidth > n.clientWidth
            }))
        );
        expect(labels.map((l) => l.text)).toEqual(
            expect.arrayContaining(['Handover reason', 'Delivery address', 'Refund amount'])
        );
        expect(labels.filter((l) => l.cut)).toEqual([]);
        await page.screenshot({ path: join(SCREENSHOTS, 'haptik-bot-context-400px.png'), fullPage: true });
        await page.setViewportSize({ width: 520, height: 900 });
    });

    it('picks up the Case once the bridge links the chat, without a reload', async () => {
        await page.goto(`${server.url}?scenario=linkLater`, { waitUntil: 'networkidle' });
        await page.locator('c-haptik-bot-context .empty-state').waitFor();
        expect(await text('.empty-state')).toBe(
            'This chat is not linked to a Case yet, so there is no bot context to show.'
        );
        await page.evaluate(() => (globalThis as unknown as { previewLinkCase(): void }).previewLinkCase());
        // The component asks Lightning Data Service again every few seconds.
        await page.locator('c-haptik-bot-context .customer-name').waitFor({ timeout: 15_000 });
        expect(await text('.customer-name')).toBe('Asha Verma');
        expect(await text('.case-number')).toBe('Case 00001043');
        expect(pageErrors).toEqual([]);
    });

    it('shows an error panel for malformed JSON', async () => {
        await page.goto(`${server.url}?scenario=malformed`, { waitUntil: 'networkidle' });
        await page.locator('c-haptik-bot-context .invalid-panel').waitFor();
        expect(await text('.invalid-panel h3')).toBe('The bot context on this Case cannot be read');
        await page.screenshot({ path: join(SCREENSHOTS, 'haptik-bot-context-malformed.png'), fullPage: true });
        expect(pageErrors).toEqual([]);
    });
});
