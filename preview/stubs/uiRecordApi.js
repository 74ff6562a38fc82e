// Stand-in for lightning/uiRecordApi: a getRecord wire adapter that answers from sample records
// the way Lightning Data Service does (only the fields asked for, an error for unknown ids).
import { RECORDS } from '../sample-records';

function fieldName(field) {
    return typeof field === 'string' ? field.split('.').slice(1).join('.') : field.fieldApiName;
}

export class getRecord {
    constructor(dataCallback) {
        this.dataCallback = dataCallback;
        this.connected = false;
    }
    connect() {
        this.connected = true;
    }
    disconnect() {
        this.connected = false;
    }
    update(config) {
        if (!config.recordId) return;
        const record = RECORDS[config.recordId];
        // Answer asynchronously, as the platform does.
        Promise.resolve().then(() => {
            if (!this.connected) return;
            if (!record) {
                this.dataCallback({
                    data: undefined,
                    error: {
                        status: 404,
                        statusText: 'Not Found',
                        body: { message: 'The requested resource does not exist' }
                    }
                });
                return;
            }
            const wanted = [...(config.fields || []), ...(config.optionalFields || [])].map(fieldName);
            const fields = Object.fromEntries(Object.entries(record.fields).filter(([name]) => wanted.includes(name)));
            this.dataCallback({ data: { ...record, fields }, error: undefined });
        });
    }
}

export function getFieldValue(record, field) {
    return record?.fields?.[fieldName(field)]?.value;
}
