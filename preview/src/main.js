// Mounts the component as a record page would (recordId + objectApiName); ?scenario= picks the record.
import '@lwc/synthetic-shadow';
import { createElement } from 'lwc';
import HaptikBotContext from 'c/haptikBotContext';
import { SCENARIOS, linkCase } from '../sample-records';

const name = new URLSearchParams(window.location.search).get('scenario') || 'messagingSession';
const scenario = SCENARIOS[name] || SCENARIOS.messagingSession;
document.querySelector('#scenario').textContent = `Preview: ${scenario.label}`;

const element = createElement('c-haptik-bot-context', { is: HaptikBotContext });
element.recordId = scenario.recordId;
element.objectApiName = scenario.objectApiName;
document.querySelector('#root').appendChild(element);

// For ?scenario=linkLater: what the bridge's background job does, setting the chat's CaseId on the server.
window.previewLinkCase = () => linkCase('0Mwxx0000004C93CAE', '500xx000001Sv7KAAS');
