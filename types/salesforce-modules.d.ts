// Ambient types for the platform modules the LWC sources import. The platform provides the
// modules at run time; @salesforce/lightning-types has no lightning/uiRecordApi or lightning/navigation.

declare module '@salesforce/schema/*' {
    const field: { fieldApiName: string; objectApiName: string };
    export default field;
}

declare module 'lightning/uiRecordApi' {
    import type { WireAdapterConstructor } from 'lwc';
    export interface FieldValueRepresentation {
        value: unknown;
        displayValue: string | null;
    }
    export interface RecordRepresentation {
        apiName: string;
        id: string;
        fields: Record<string, FieldValueRepresentation>;
    }
    export type FieldId = { fieldApiName: string; objectApiName: string } | string;
    export interface GetRecordConfig {
        recordId?: string;
        fields?: FieldId[];
        optionalFields?: FieldId[];
    }
    export interface WireResult<T> {
        data?: T;
        error?: unknown;
    }
    export const getRecord: WireAdapterConstructor<GetRecordConfig, WireResult<RecordRepresentation>>;
    export function getFieldValue(record: RecordRepresentation, field: FieldId): unknown;
    /** Tells Lightning Data Service that these records changed on the server; wires showing them fetch again. */
    export function notifyRecordUpdateAvailable(recordIds: Array<{ recordId: string }>): Promise<void>;
}

declare module 'lightning/navigation' {
    import type { LightningElement } from 'lwc';
    export interface PageReference {
        type: string;
        attributes: Record<string, unknown>;
        state?: Record<string, unknown>;
    }
    // Mixins must accept any constructor arguments (TS2545 otherwise).
    type Constructor<T> = new (...args: any[]) => T;
    export interface NavigationMixinMethods {
        [NavigationMixin.Navigate](pageReference: PageReference, replace?: boolean): void;
        [NavigationMixin.GenerateUrl](pageReference: PageReference): Promise<string>;
    }
    export function NavigationMixin<T extends Constructor<LightningElement>>(
        base: T
    ): T & Constructor<NavigationMixinMethods>;
    export namespace NavigationMixin {
        const Navigate: unique symbol;
        const GenerateUrl: unique symbol;
    }
}
