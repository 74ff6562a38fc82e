// Stand-in for lightning/navigation: record links point at a hash so a click stays on the preview.
const Navigate = Symbol('Navigate');
const GenerateUrl = Symbol('GenerateUrl');

const urlOf = (pageReference) =>
    `#/lightning/r/${pageReference.attributes.objectApiName}/${pageReference.attributes.recordId}/view`;

export const NavigationMixin = (Base) =>
    class extends Base {
        [Navigate](pageReference) {
            window.location.hash = urlOf(pageReference).slice(1);
        }
        [GenerateUrl](pageReference) {
            return Promise.resolve(urlOf(pageReference));
        }
    };
NavigationMixin.Navigate = Navigate;
NavigationMixin.GenerateUrl = GenerateUrl;

export class CurrentPageReference {
    constructor(dataCallback) {
        this.dataCallback = dataCallback;
    }
    connect() {}
    disconnect() {}
    update() {
        this.dataCallback({ type: 'standard__namedPage', attributes: { pageName: 'home' } });
    }
}
