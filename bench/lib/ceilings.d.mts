/** Types of ceilings.mjs, which test/integration/hand-reads.test.ts imports (to hold its SQL to the gateway's). */
export declare const TASK_COLUMNS: string[];
export declare const LIST_COLUMNS: { seed002: string[]; seed001: string[] };
export declare function ceilingStatements(): Record<string, string>;
export declare function ceilingWorker(): string;
