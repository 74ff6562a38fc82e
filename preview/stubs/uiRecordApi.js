// Stand-in for lightning/uiRecordApi: a getRecord wire adapter that answers from sample records
// the way Lightning Data Service does (only the fields asked for, an error for unknown ids).
import { RECORDS } from '../sample-records';

function fieldName(field) {
    return typeof field === 'string' ? field.split('.').slice(1).join('.') : field.fieldApiName;
}

// Connected wires, so notifyRecordUpdateAvailable can make them fetch again as LDS does.
const wires = new Set();

export class getRecord {
    constructor(dataCallback) {
        this.dataCallback = dataCallback;
        this.connected = false;
    }
    connect() {
        this.connected = true;
        wires.add(this);
    }
    disconnect() {
        this.connected = false;
        wires.delete(this);
    }
    update(config) {
        this.config = config;
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

/** Wires showing one of these records answer again from the (possibly changed) sample records. */
export function notifyRecordUpdateAvailable(recordIds) {
    const ids = new Set(recordIds.map((r) => r.recordId));
    for (const wire of wires) {
        if (wire.config && ids.has(wire.config.recordId)) wire.update(wire.config);
    }
    return Promise.resolve();
}

export function getFieldValue(record, field) {
    return record?.fields?.[fieldName(field)]?.value;
}
