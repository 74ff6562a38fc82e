// Shows an agent what the Haptik chatbot learned before it handed the conversation over: who the
// customer is, why they want an agent, what the bot collected, the CRM match and the last messages.
// Reads only through Lightning Data Service (getRecord), so it needs no Apex and respects field-level
// security: on a Case it reads Haptik_Bot_Context__c; on a chat record it follows CaseId first.
import { LightningElement, api, wire } from 'lwc';
import { getRecord, notifyRecordUpdateAvailable } from 'lightning/uiRecordApi';
import { NavigationMixin } from 'lightning/navigation';
import BOT_CONTEXT_FIELD from '@salesforce/schema/Case.Haptik_Bot_Context__c';
import CASE_NUMBER_FIELD from '@salesforce/schema/Case.CaseNumber';
import { describeError, isBlank, parseBotContext, resolveObjectType, sameRecordId } from './botContextModel';
const CASE_OBJECT = 'Case';
const CASE_FIELDS = [BOT_CONTEXT_FIELD, CASE_NUMBER_FIELD];
// Strings, not schema imports: a schema import of an object the org lacks (no Messaging, no legacy
// Chat) would fail the whole deployment, while an unknown optional field is simply left out.
const CHAT_CASE_FIELDS = {
    MessagingSession: ['MessagingSession.CaseId'],
    LiveChatTranscript: ['LiveChatTranscript.CaseId']
};
/**
 * The bridge sets a chat's CaseId from a background job, usually seconds after the agent accepted the chat, and
 * Lightning Data Service is not told about a change another user makes through the API. So while a chat page shows
 * "not linked yet", the component asks LDS every LINK_POLL_MS to fetch the chat record again (no Apex, no
 * streaming setup), and stops once the Case is there, the page closes or LINK_POLL_LIMIT asks went unanswered.
 */
export const LINK_POLL_MS = 5000;
export const LINK_POLL_LIMIT = 120;
const MESSAGE_STYLES = {
    user: { item: 'slds-chat-listitem_inbound', text: 'slds-chat-message__text_inbound' },
    bot: { item: 'slds-chat-listitem_outbound', text: 'slds-chat-message__text_outbound' },
    agent: { item: 'slds-chat-listitem_outbound', text: 'slds-chat-message__text_outbound-agent' },
    other: { item: 'slds-chat-listitem_inbound', text: 'slds-chat-message__text_inbound' }
};
export const MESSAGES = {
    unsupported: 'Place this component on a Case, Messaging Session or Chat Transcript record page.',
    unlinked: 'This chat is not linked to a Case yet, so there is no bot context to show.',
    noCaseAccess: 'You cannot see the Case linked to this chat.',
    noFieldAccess: 'You cannot see the Haptik Bot Context field. Ask your Salesforce admin for the Haptik Agent permission set.',
    empty: 'No bot context yet. It appears here when the Haptik chatbot hands a conversation over.'
};
export default class HaptikBotContext extends NavigationMixin(LightningElement) {
    /** Id of the record whose page shows the component; set by the record page. */
    @api
    recordId;
    /** API name of that record's object (Case, MessagingSession or LiveChatTranscript); set by the record page. */
    @api
    objectApiName;
    status = 'loading';
    infoMessage = '';
    errorMessage = '';
    invalidReason = '';
    invalidExcerpt = '';
    caseNumber = '';
    context;
    notes = [];
    messagesExpanded = true;
    crmUrl = '';
    pageRecord;
    pageError;
    caseRecord;
    caseError;
    crmKey = '';
    linkTimer;
    linkPolls = 0;
    get objectType() {
        return resolveObjectType(this.objectApiName, this.recordId);
    }
    get pageFields() {
        const type = this.objectType;
        if (type === CASE_OBJECT) {
            return CASE_FIELDS;
        }
        return type === undefined ? undefined : CHAT_CASE_FIELDS[type];
    }
    /** The Case a chat record points to; undefined on a Case page or before the chat record loads. */
    get linkedCaseId() {
        const type = this.objectType;
        if (type === undefined || type === CASE_OBJECT || this.pageRecord === undefined) {
            return undefined;
        }
        const value = this.pageRecord.fields.CaseId?.value;
        return typeof value === 'string' && value ? value : undefined;
    }
    @wire(getRecord, { recordId: '$recordId', optionalFields: '$pageFields' })
    wiredPage({ data, error }) {
        // Each wire only takes its own record: a page record is never read as the linked Case.
        if (data && !sameRecordId(data.id, this.recordId)) {
            return;
        }
        this.pageRecord = data;
        this.pageError = data ? undefined : error;
        this.refresh();
    }
    @wire(getRecord, { recordId: '$linkedCaseId', optionalFields: CASE_FIELDS })
    wiredCase({ data, error }) {
        if (data && !sameRecordId(data.id, this.linkedCaseId)) {
            return;
        }
        if (!data && !error) {
            return;
        }
        this.caseRecord = data;
        this.caseError = data ? undefined : error;
        this.refresh();
    }
    connectedCallback() {
        this.refresh();
    }
    disconnectedCallback() {
        this.stopWatchingForLink();
    }
    /** A chat record that loaded, can show its CaseId, and has none yet. */
    get awaitingLink() {
        const type = this.objectType;
        return (type !== undefined &&
            type !== CASE_OBJECT &&
            this.pageRecord?.fields.CaseId !== undefined &&
            this.linkedCaseId === undefined);
    }
    watchForLink() {
        if (this.linkTimer !== undefined || this.linkPolls >= LINK_POLL_LIMIT || !this.recordId) {
            return;
        }
        // eslint-disable-next-line @lwc/lwc/no-async-operation -- LDS has no push for another user's API update; a bounded refetch is the way without Apex
        this.linkTimer = setTimeout(() => {
            this.linkTimer = undefined;
            this.linkPolls += 1;
            const recordId = this.recordId;
            if (!recordId || !this.awaitingLink) {
                return;
            }
            notifyRecordUpdateAvailable([{ recordId }])
                .catch(() => undefined)
                .then(() => {
                // LDS only calls the wire back when the record changed: keep asking until it did.
                if (this.awaitingLink) {
                    this.watchForLink();
                }
            });
        }, LINK_POLL_MS);
    }
    stopWatchingForLink() {
        if (this.linkTimer !== undefined) {
            clearTimeout(this.linkTimer);
            this.linkTimer = undefined;
        }
    }
    get isLoading() {
        return this.status === 'loading';
    }
    get isError() {
        return this.status === 'error';
    }
    get isMessage() {
        return this.status === 'message';
    }
    get isInvalid() {
        return this.status === 'invalid';
    }
    get isReady() {
        return this.status === 'ready';
    }
    get hasNotes() {
        return this.notes.length > 0;
    }
    get hasCaseNumber() {
        return this.caseNumber.length > 0;
    }
    get name() {
        return this.context?.name;
    }
    get hasName() {
        return this.context?.name !== undefined;
    }
    get who() {
        return this.context?.who ?? [];
    }
    get hasWho() {
        return this.who.length > 0;
    }
    get why() {
        const context = this.context;
        if (context === undefined) {
            return [];
        }
        const rows = [];
        if (context.intent !== undefined) {
            rows.push({ key: 'intent', label: 'Intent', value: context.intent });
        }
        if (context.handoverReason !== undefined) {
            rows.push({ key: 'handoverReason', label: 'Handover reason', value: context.handoverReason });
        }
        return rows;
    }
    get hasWhy() {
        return this.why.length > 0;
    }
    get entities() {
        return this.context?.entities ?? [];
    }
    get hasEntities() {
        return this.entities.length > 0;
    }
    get details() {
        return this.context?.details ?? [];
    }
    get hasDetails() {
        return this.details.length > 0;
    }
    get crm() {
        return this.context?.crm;
    }
    get hasCrm() {
        return this.crm !== undefined;
    }
    get crmHref() {
        return this.crmUrl || '#';
    }
    get messages() {
        return (this.context?.messages ?? []).map((message) => {
            const style = MESSAGE_STYLES[message.sender];
            return {
                ...message,
                itemClass: `slds-chat-listitem ${style.item}`,
                textClass: `slds-chat-message__text ${style.text}`
            };
        });
    }
    get hasMessages() {
        return this.messages.length > 0;
    }
    get messageCount() {
        return this.context?.messages.length ?? 0;
    }
    get messagesAriaExpanded() {
        return String(this.messagesExpanded);
    }
    get messagesToggleIcon() {
        return this.messagesExpanded ? 'utility:chevrondown' : 'utility:chevronright';
    }
    get messagesBodyClass() {
        return this.messagesExpanded ? 'slds-chat messages-body' : 'slds-chat messages-body slds-hide';
    }
    handleToggleMessages() {
        this.messagesExpanded = !this.messagesExpanded;
    }
    handleCrmClick(event) {
        const target = this.crmPageReference();
        if (target === undefined) {
            return;
        }
        event.preventDefault();
        event.stopPropagation();
        this[NavigationMixin.Navigate](target);
    }
    crmPageReference() {
        const crm = this.crm;
        if (crm === undefined) {
            return undefined;
        }
        return {
            type: 'standard__recordPage',
            attributes: { recordId: crm.id, objectApiName: crm.objectType, actionName: 'view' }
        };
    }
    /** Works out what to show from the two wires; every branch ends in one status. */
    refresh() {
        const type = this.objectType;
        if (!this.recordId || type === undefined || this.pageFields === undefined) {
            this.show('message', MESSAGES.unsupported);
            return;
        }
        if (this.pageError !== undefined) {
            this.showError(this.pageError);
            return;
        }
        if (this.pageRecord === undefined) {
            this.show('loading');
            return;
        }
        let caseRecord;
        if (type === CASE_OBJECT) {
            caseRecord = this.pageRecord;
        }
        else {
            if (this.pageRecord.fields.CaseId === undefined) {
                this.show('message', MESSAGES.noCaseAccess);
                return;
            }
            if (this.linkedCaseId === undefined) {
                this.show('message', MESSAGES.unlinked);
                this.watchForLink();
                return;
            }
            this.stopWatchingForLink();
            if (this.caseError !== undefined) {
                this.showError(this.caseError);
                return;
            }
            if (this.caseRecord === undefined || !sameRecordId(this.caseRecord.id, this.linkedCaseId)) {
                this.show('loading');
                return;
            }
            caseRecord = this.caseRecord;
        }
        const caseNumber = caseRecord.fields.CaseNumber?.value;
        this.caseNumber = typeof caseNumber === 'string' ? caseNumber : '';
        const contextField = caseRecord.fields.Haptik_Bot_Context__c;
        if (contextField === undefined) {
            this.show('message', MESSAGES.noFieldAccess);
            return;
        }
        const result = parseBotContext(contextField.value);
        if (result.kind === 'empty' ||
            (result.kind === 'ready' && isBlank(result.context) && result.notes.length === 0)) {
            this.show('message', MESSAGES.empty);
            return;
        }
        if (result.kind === 'invalid') {
            this.context = undefined;
            this.invalidReason = result.reason;
            this.invalidExcerpt = result.excerpt;
            this.status = 'invalid';
            return;
        }
        this.context = result.context;
        this.notes = result.notes;
        this.status = 'ready';
        this.generateCrmUrl();
    }
    show(status, message = '') {
        this.status = status;
        this.infoMessage = message;
        this.context = undefined;
        this.notes = [];
    }
    showError(error) {
        this.status = 'error';
        this.errorMessage = describeError(error);
        this.context = undefined;
        this.notes = [];
    }
    generateCrmUrl() {
        const target = this.crmPageReference();
        const key = target === undefined ? '' : `${this.crm?.objectType}:${this.crm?.id}`;
        if (key === this.crmKey) {
            return;
        }
        this.crmKey = key;
        this.crmUrl = '';
        if (target === undefined) {
            return;
        }
        this[NavigationMixin.GenerateUrl](target)
            .then((url) => {
            if (this.crmKey === key) {
                this.crmUrl = url;
            }
        })
            .catch(() => {
            // The link still works without a URL: the click handler navigates.
            this.crmUrl = '';
        });
    }
}
