/** One versioned schema change, PostgreSQL dialect, applied once at start-up inside one transaction. */
export interface Migration {
    readonly version: number;
    readonly name: string;
    /** Run in order; one SQL statement each. */
    readonly statements: readonly string[];
}
