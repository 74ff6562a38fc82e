/*
 * Project stand-in for lightning/navigation (the default sfdx-lwc-jest stub records nothing):
 * remembers the last Navigate / GenerateUrl call so tests can assert where a click goes.
 */
import { createTestWireAdapter } from '@salesforce/wire-service-jest-util';

export const CurrentPageReference = createTestWireAdapter(jest.fn());

const Navigate = Symbol('Navigate');
const GenerateUrl = Symbol('GenerateUrl');
let lastNavigate;
let lastGenerateUrl;

export const NavigationMixin = (Base) => {
    return class extends Base {
        [Navigate](pageReference, replace) {
            lastNavigate = { pageReference, replace };
        }
        [GenerateUrl](pageReference) {
            lastGenerateUrl = pageReference;
            const { objectApiName, recordId } = pageReference.attributes;
            return Promise.resolve(`/lightning/r/${objectApiName}/${recordId}/view`);
        }
    };
};
NavigationMixin.Navigate = Navigate;
NavigationMixin.GenerateUrl = GenerateUrl;

export const getNavigateCalledWith = () => lastNavigate;
export const getGenerateUrlCalledWith = () => lastGenerateUrl;
export const resetNavigationMock = () => {
    lastNavigate = undefined;
    lastGenerateUrl = undefined;
};
