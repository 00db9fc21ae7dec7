/** Moved to src/net/url-policy.ts; re-exported so existing imports keep working. */
export { callbackUrlProblem, redactUrl, URL_MAX_LENGTH, type UrlPolicyOptions, urlProblem } from "../net/url-policy";
