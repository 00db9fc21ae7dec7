/**
 * GET /openapi.json (the document built from src/openapi/registry.ts) and GET /docs (Scalar's
 * API reference). The page's script is a static asset, /docs/scalar.js, copied into the assets
 * directory by scripts/build-docs.mjs: nothing loads from a CDN, so the page works offline.
 */
import { Hono } from "hono";
import type { AppEnv } from "../context";
import { openApiJson } from "../openapi/document";
import { docsCsp, scriptHash, withPageHeaders } from "./page-headers";

/** Where the assets directory serves Scalar's standalone bundle (scripts/build-docs.mjs puts it there). */
export const DOCS_SCRIPT_PATH = "/docs/scalar.js";

// Offline and private: Scalar's default fonts come from its CDN, and its telemetry, AI agent and
// developer toolbar call its servers; the page turns all of them off.
const DOCS_INIT = `
Scalar.createApiReference("#app", {
	url: "/openapi.json",
	withDefaultFonts: false,
	telemetry: false,
	agent: { disabled: true },
	showDeveloperTools: "never",
});
`;

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mj-edge API reference</title>
<link rel="icon" href="data:,">
</head>
<body>
<div id="app"></div>
<script src="${DOCS_SCRIPT_PATH}"></script>
<script>${DOCS_INIT}</script>
</body>
</html>
`;

/** The page's CSP allows its one inline script by hash, worked out once per isolate. */
let docsPolicy: Promise<string> | undefined;

export const openApiRoutes = new Hono<AppEnv>()
	.get("/openapi.json", (c) =>
		c.body(openApiJson(), 200, { "content-type": "application/json; charset=utf-8", "cache-control": "no-cache" }),
	)
	.get("/docs", async (c) => {
		docsPolicy ??= scriptHash(DOCS_INIT).then(docsCsp);
		return withPageHeaders(c.html(DOCS_PAGE), await docsPolicy);
	});
