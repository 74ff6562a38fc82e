import { createElement } from 'lwc';
import HaptikBotContext, { LINK_POLL_LIMIT, LINK_POLL_MS, MESSAGES } from 'c/haptikBotContext';
import { getRecord, notifyRecordUpdateAvailable } from 'lightning/uiRecordApi';
import { getNavigateCalledWith, resetNavigationMock } from 'lightning/navigation';

const mockCase = require('./data/getRecord.case.json');
const mockLinkedCase = require('./data/getRecord.linkedCase.json');
const mockMessagingSession = require('./data/getRecord.messagingSession.json');
const mockMessagingSessionUnlinked = require('./data/getRecord.messagingSessionUnlinked.json');
const mockLiveChatTranscript = require('./data/getRecord.liveChatTranscript.json');
const mockCaseEmpty = require('./data/getRecord.caseEmpty.json');
const mockCaseMalformed = require('./data/getRecord.caseMalformed.json');
const mockCaseNewerVersion = require('./data/getRecord.caseNewerVersion.json');
const mockCaseNoFieldAccess = require('./data/getRecord.caseNoFieldAccess.json');

const CASE_ID = mockCase.id;


function createComponent(recordId, objectApiName) {
    const element = createElement('c-haptik-bot-context', { is: HaptikBotContext });
    element.recordId = recordId;
    if (objectApiName) {
        element.objectApiName = objectApiName;
    }
    document.body.appendChild(element);
    return element;
}

function caseWithContext(context) {
    return {
        ...mockCase,
        fields: {
            ...mockCase.fields,
            Haptik_Bot_Context__c: { displayValue: null, value: JSON.stringify(context) }
        }
    };
}

async function flushPromises() {
    for (let i = 0; i < 3; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

/** Delivers a record only to the wire that asked for it, as Lightning Data Service does. */
async function emitRecord(record) {
    // Wire configs are resolved after connect; deliver once they name their record.
    await flushPromises();
    getRecord.emit(record, (config) => config.recordId === record.id);
}

/** The configs of every connected getRecord wire, without delivering anything. */
async function wireConfigs() {
    await flushPromises();
    const configs = [];
    getRecord.emit(undefined, (config) => {
        configs.push(config);
        return false;
    });
    return configs;
}

const CASE_FIELDS = [
    { objectApiName: 'Case', fieldApiName: 'Haptik_Bot_Context__c' },
    { objectApiName: 'Case', fieldApiName: 'CaseNumber' }
];

const texts = (root, selector) => Array.from(root.querySelectorAll(selector)).map((n) => n.textContent.trim());

function definitionList(root, selector) {
    const list = root.querySelector(selector);
    const terms = texts(list, 'dt');
    const values = texts(list, 'dd');
    return Object.fromEntries(terms.map((term, i) => [term, values[i]]));
}

describe('c-haptik-bot-context', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
        resetNavigationMock();
    });

    it('reads the bot context field of the Case it sits on', async () => {
        const element = createComponent(CASE_ID, 'Case');
        await emitRecord(mockCase);
        await flushPromises();

        expect(await wireConfigs()).toContainEqual({ recordId: CASE_ID, optionalFields: CASE_FIELDS });

        const root = element.shadowRoot;
        expect(root.querySelector('.case-number').textContent).toBe('Case 00001042');
        expect(root.querySelector('.customer-name').textContent.trim()).toBe('Asha Verma');
        expect(definitionList(root, '.who-list')).toEqual({
            Email: 'asha.verma@example.com',
            Phone: '+91 98200 00000',
            Channel: 'WhatsApp',
            Language: 'en',
            'Customer ID': 'cust-7781'
        });
        expect(definitionList(root, '.why-list')).toEqual({
            Intent: 'Refund request',
            'Handover reason': 'user asked for an agent'
        });
        expect(definitionList(root, '.entity-list')).toEqual({ 'Order id': 'A-1001', 'Refund amount': '1499' });
        expect(definitionList(root, '.detail-list')).toEqual({ Plan: 'Gold', City: 'Pune' });
        expect(root.querySelector('.notes')).toBeNull();
    });

    it('shows recent messages newest last, styled by sender, and collapses them', async () => {
        const element = createComponent(CASE_ID, 'Case');
        await emitRecord(mockCase);
        await flushPromises();

        const root = element.shadowRoot;
        const items = Array.from(root.querySelectorAll('.message-list li'));
        expect(items.map((li) => li.dataset.sender)).toEqual(['user', 'bot', 'agent']);
        expect(texts(root, '.message-text')).toEqual([
            'I want a refund for order A-1001',
            'Sorry to hear that. Let me connect you to an agent.',
            'Hi Asha, I am looking at order A-1001 now.'
        ]);
        expect(items[0].className).toContain('slds-chat-listitem_inbound');
        expect(items[1].className).toContain('slds-chat-listitem_outbound');
        expect(items[2].querySelector('.slds-chat-message__text_outbound-agent')).not.toBeNull();
        expect(texts(root, '.message-sender')).toEqual(['Customer', 'Bot', 'Agent']);

        const toggle = root.querySelector('button.messages-toggle');
        expect(toggle.textContent).toContain('Recent messages (3)');
        expect(toggle.getAttribute('aria-expanded')).toBe('true');
        const body = root.querySelector('.messages-body');
        expect(toggle.getAttribute('aria-controls')).toBe(body.id);
        toggle.click();
        await flushPromises();
        expect(toggle.getAttribute('aria-expanded')).toBe('false');
        expect(body.classList.contains('slds-hide')).toBe(true);
        toggle.click();
        await flushPromises();
        expect(body.classList.contains('slds-hide')).toBe(false);
    });

    it('links the customer to the matched Contact through NavigationMixin', async () => {
        const element = createComponent(CASE_ID, 'Case');
        await emitRecord(mockCase);
        await flushPromises();

        const link = element.shadowRoot.querySelector('a.crm-link');
        expect(link.textContent).toBe('Asha Verma');
        expect(link.getAttribute('href')).toBe('/lightning/r/Contact/003xx000004TmiQAAS/view');
        expect(element.shadowRoot.querySelector('.crm-match').textContent).toContain('Contact:');

        element.shadowRoot.querySelector('a.crm-name-link').click();
        expect(getNavigateCalledWith().pageReference).toEqual({
            type: 'standard__recordPage',
            attributes: { recordId: '003xx000004TmiQAAS', objectApiName: 'Contact', actionName: 'view' }
        });
    });

    it('on a MessagingSession follows CaseId to the Case and reads its context', async () => {
        const element = createComponent(mockMessagingSession.id, 'MessagingSession');
        await flushPromises();
        expect(await wireConfigs()).toContainEqual({
            recordId: mockMessagingSession.id,
            optionalFields: ['MessagingSession.CaseId']
        });
        expect(element.shadowRoot.querySelector('lightning-spinner')).not.toBeNull();

        await emitRecord(mockMessagingSession);
        await flushPromises();
        expect(await wireConfigs()).toContainEqual({ recordId: mockLinkedCase.id, optionalFields: CASE_FIELDS });
        expect(element.shadowRoot.querySelector('lightning-spinner')).not.toBeNull();

        await emitRecord(mockLinkedCase);
        await flushPromises();
        const root = element.shadowRoot;
        expect(root.querySelector('.customer-name').textContent.trim()).toBe('Ravi Kumar');
        expect(definitionList(root, '.why-list').Intent).toBe('Track order');
        expect(root.querySelector('.case-number').textContent).toBe('Case 00001043');
        expect(root.querySelector('a.crm-link').getAttribute('href')).toBe('/lightning/r/Lead/00Qxx000001abcdEAA/view');
    });

    it('on a LiveChatTranscript follows CaseId to the Case and reads its context', async () => {
        const element = createComponent(mockLiveChatTranscript.id, 'LiveChatTranscript');
        await emitRecord(mockLiveChatTranscript);
        await flushPromises();
        await emitRecord(mockLinkedCase);
        await flushPromises();

        const root = element.shadowRoot;
        expect(root.querySelector('.customer-name').textContent.trim()).toBe('Ravi Kumar');
        expect(definitionList(root, '.who-list').Channel).toBe('Web');
        expect(texts(root, '.message-text')).toHaveLength(3);
    });

    it('works out the object from the record id when the page gives no object name', async () => {
        const element = createComponent(mockMessagingSession.id);
        await flushPromises();
        expect((await wireConfigs()).map((config) => config.optionalFields)).toContainEqual(['MessagingSession.CaseId']);
        await emitRecord(mockMessagingSession);
        await emitRecord(mockLinkedCase);
        await flushPromises();
        expect(element.shadowRoot.querySelector('.customer-name').textContent.trim()).toBe('Ravi Kumar');
    });

    it('says so when the chat is not linked to a Case yet', async () => {
        const element = createComponent(mockMessagingSessionUnlinked.id, 'MessagingSession');
        await emitRecord(mockMessagingSessionUnlinked);
        await flushPromises();
        expect(element.shadowRoot.querySelector('.empty-state').textContent).toBe(MESSAGES.unlinked);
    });

    it('puts a plain element, not a heading, in the card title slot (the card wraps it in its own heading)', async () => {
        const element = createComponent(CASE_ID, 'Case');
        await emitRecord(mockCase);
        await flushPromises();
        const title = element.shadowRoot.querySelector('[slot="title"]');
        expect(title.tagName).toBe('SPAN');
        expect(title.querySelector('h1, h2, h3, h4, h5, h6')).toBeNull();
        expect(title.textContent).toContain('Bot context');
    });

    describe('when the bridge links the Case after the page opened', () => {
        beforeEach(() => {
            jest.useFakeTimers();
        });
        afterEach(() => {
            jest.useRealTimers();
        });

        it('asks Lightning Data Service for the chat record again until the CaseId is there, then shows the Case', async () => {
            const element = createComponent(mockMessagingSessionUnlinked.id, 'MessagingSession');
            await emitRecord(mockMessagingSessionUnlinked);
            await flushPromises();
            expect(element.shadowRoot.querySelector('.empty-state').textContent).toBe(MESSAGES.unlinked);
            expect(notifyRecordUpdateAvailable).not.toHaveBeenCalled();

            jest.advanceTimersByTime(LINK_POLL_MS);
            await flushPromises();
            expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(1);
            expect(notifyRecordUpdateAvailable).toHaveBeenCalledWith([{ recordId: mockMessagingSessionUnlinked.id }]);
            // Nothing changed yet: LDS stays quiet, the component asks again.
            jest.advanceTimersByTime(LINK_POLL_MS);
            await flushPromises();
            expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(2);

            // The bridge set CaseId: LDS refetched the chat record and hands it to the wire.
            await emitRecord(mockMessagingSession);
            await emitRecord(mockLinkedCase);
            await flushPromises();
            expect(element.shadowRoot.querySelector('.customer-name').textContent.trim()).toBe('Ravi Kumar');
            jest.advanceTimersByTime(LINK_POLL_MS * 3);
            await flushPromises();
            expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(2);
        });

        it('stops asking when the page closes, and gives up after LINK_POLL_LIMIT asks', async () => {
            const element = createComponent(mockMessagingSessionUnlinked.id, 'MessagingSession');
            await emitRecord(mockMessagingSessionUnlinked);
            await flushPromises();
            for (let i = 0; i < LINK_POLL_LIMIT + 5; i++) {
                jest.advanceTimersByTime(LINK_POLL_MS);
                // eslint-disable-next-line no-await-in-loop
                await flushPromises();
            }
            expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(LINK_POLL_LIMIT);

            notifyRecordUpdateAvailable.mockClear();
            const other = createComponent(mockMessagingSessionUnlinked.id, 'MessagingSession');
            await emitRecord(mockMessagingSessionUnlinked);
            await flushPromises();
            document.body.removeChild(other);
            document.body.removeChild(element);
            jest.advanceTimersByTime(LINK_POLL_MS * 5);
            await flushPromises();
            expect(notifyRecordUpdateAvailable).not.toHaveBeenCalled();
        });
    });

    it('shows an empty state when the Case has no bot context', async () => {
        const element = createComponent(CASE_ID, 'Case');
        await emitRecord(mockCaseEmpty);
        await flushPromises();
        const root = element.shadowRoot;
        expect(root.querySelector('.empty-state').textContent).toBe(MESSAGES.empty);
        expect(root.querySelector('.who')).toBeNull();
    });

    it('asks for the permission set when the field is not readable', async () => {
        const element = createComponent(CASE_ID, 'Case');
        await emitRecord(mockCaseNoFieldAccess);
        await flushPromises();
        expect(element.shadowRoot.querySelector('.empty-state').textContent).toBe(MESSAGES.noFieldAccess);
    });

    it('explains the placement when there is no record', async () => {
        const element = createComponent(undefined, undefined);
        await flushPromises();
        expect(element.shadowRoot.querySelector('.empty-state').textContent).toBe(MESSAGES.unsupported);
    });

    it('shows an error panel when getRecord fails', async () => {
        const element = createComponent(CASE_ID, 'Case');
        getRecord.error({ message: 'The requested resource does not exist' }, 404, 'Not Found');
        await flushPromises();
        const panel = element.shadowRoot.querySelector('.error-panel');
        expect(panel.getAttribute('role')).toBe('alert');
        expect(panel.querySelector('.error-message').textContent).toBe('The requested resource does not exist');
        expect(element.shadowRoot.querySelector('.who')).toBeNull();
    });

    it('shows an error panel, not a crash, for malformed JSON', async () => {
        const element = createComponent(CASE_ID, 'Case');
        await emitRecord(mockCaseMalformed);
        await flushPromises();
        const panel = element.shadowRoot.querySelector('.invalid-panel');
        expect(panel.getAttribute('role')).toBe('alert');
        expect(panel.querySelector('.invalid-reason').textContent).toMatch(/^It is not valid JSON/);
        expect(panel.querySelector('.invalid-excerpt').textContent).toBe('{"version": 1, "user": {"name": "Asha"');
    });

    it('shows what it understands of a newer version, with a note', async () => {
        const element = createComponent(CASE_ID, 'Case');
        await emitRecord(mockCaseNewerVersion);
        await flushPromises();
        const root = element.shadowRoot;
        expect(texts(root, '.note')[0]).toContain('format version 2');
        expect(root.querySelector('.customer-name').textContent.trim()).toBe('Asha Verma');
        expect(definitionList(root, '.entity-list')).toEqual({ 'Order id': 'A-1001' });
        expect(root.querySelector('.no-crm')).not.toBeNull();
        expect(root.querySelector('.message-list')).toBeNull();
    });

    it('cuts very long values and keeps the whole text in the title', async () => {
        const longName = 'Wolfeschlegelsteinhausenbergerdorff '.repeat(20).trim();
        const longValue = 'x'.repeat(5000);
        const longMessage = 'Please help. '.repeat(500);
        const element = createComponent(CASE_ID, 'Case');
        await emitRecord(
            caseWithContext({
                version: 1,
                user: { name: longName },
                intent: 'refund_request',
                entities: [{ name: 'notes', value: longValue }],
                recentMessages: [{ sender: 'user', text: longMessage }]
            })
        );
        await flushPromises();
        const root = element.shadowRoot;
        const name = root.querySelector('.customer-name');
        expect(name.textContent.trim().length).toBeLessThanOrEqual(300);
        expect(name.textContent.trim().endsWith('…')).toBe(true);
        expect(name.getAttribute('title')).toBe(longName);
        const value = root.querySelector('.entity-list dd');
        expect(value.textContent.trim()).toHaveLength(300);
        expect(value.getAttribute('title')).toBe(longValue);
        const message = root.querySelector('.message-text');
        expect(message.textContent.length).toBe(1000);
        expect(message.getAttribute('title')).toBe(longMessage);
    });

    it('is accessible with data', async () => {
        const element = createComponent(CASE_ID, 'Case');
        await emitRecord(mockCase);
        await flushPromises();
        await expect(element).toBeAccessible();
    });

    it('is accessible when the JSON is malformed', async () => {
        const element = createComponent(CASE_ID, 'Case');
        await emitRecord(mockCaseMalformed);
        await flushPromises();
        await expect(element).toBeAccessible();
    });

    it('is accessible when empty', async () => {
        const element = createComponent(CASE_ID, 'Case');
        await emitRecord(mockCaseEmpty);
        await flushPromises();
        await expect(element).toBeAccessible();
    });
});
