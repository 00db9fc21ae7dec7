/** Types of build-docs.mjs, which vitest.config.ts imports. */
export declare const ASSETS_DIR: string;
export declare const DOCS_SCRIPT: string;
export declare function buildDocs(root?: string): string;
