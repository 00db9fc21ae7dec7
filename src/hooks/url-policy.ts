/**
 * Leftover: the URL policy lives in src/net/url-policy.ts. Only src/routes/admin.ts still imports
 * it from here (routes are being rewritten on another branch); point that import at
 * ../net/url-policy and delete this file.
 */
export { urlProblem } from "../net/url-policy";
