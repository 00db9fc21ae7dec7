/**
 * The service's own routes: GET /health, GET /openapi.json (the document src/openapi/document.ts
 * builds from every group's route definitions), GET /docs (Scalar's API reference) and the web
 * console's files. The page's script is a static asset, /docs/scalar.js, copied into the assets
 * directory by scripts/build-docs.mjs: nothing loads from a CDN, so the page works offline.
 */
import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../context";
import { about, answers, mediaAnswers, on, routeGroup } from "../openapi/define";
import * as body from "../openapi/responses";
import { consoleCsp, docsCsp, scriptHash, withPageHeaders } from "./page-headers";

/** Where the console's scripts and styles are served (web/build.ts writes them there). */
export const CONSOLE_ASSETS = "/app";

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

const meta = about("meta", "none");

const health = createRoute({
	...meta,
	method: "get",
	path: "/health",
	summary: "Liveness",
	responses: answers("plain", "Up.", body.Health),
});
const openApiDocument = createRoute({
	...meta,
	method: "get",
	path: "/openapi.json",
	summary: "This document",
	responses: mediaAnswers("plain", "The OpenAPI 3.1 document.", "openapi"),
});
const docs = createRoute({
	...meta,
	method: "get",
	path: "/docs",
	summary: "The interactive API reference",
	responses: mediaAnswers("plain", "An HTML page (its script is a local static asset, /docs/scalar.js).", "html"),
});
const docsScript = createRoute({
	...meta,
	method: "get",
	path: DOCS_SCRIPT_PATH,
	summary: "The reference page's script (a static asset)",
	responses: mediaAnswers("plain", "JavaScript.", "javascript"),
});
const consolePage = createRoute({
	...meta,
	method: "get",
	path: "/",
	summary: "The web console",
	description: `A single page; its scripts and styles are static assets under ${CONSOLE_ASSETS}/.`,
	responses: mediaAnswers("plain", "An HTML page.", "html"),
});
const consoleFiles = createRoute({
	...meta,
	method: "get",
	path: `${CONSOLE_ASSETS}/*`,
	hide: true,
	summary: "The web console's scripts and styles",
	responses: mediaAnswers("plain", "A static file.", "javascript"),
});

/**
 * The web console (wrangler.toml [assets], run_worker_first): only these paths are its, so every
 * API path, unknown ones included, answers exactly as without it. Each answer carries the
 * console's CSP and page headers (src/routes/page-headers.ts).
 */
const consoleAsset = async (c: Context<AppEnv>) =>
	withPageHeaders(await c.env.ASSETS.fetch(c.req.raw), consoleCsp(c.env));

/** Mount at "/"; `document` is the OpenAPI document as JSON text. */
export function serviceRoutes(document: () => string) {
	const group = routeGroup();
	on(group, health, (c) => c.json({ ok: true }));
	on(group, openApiDocument, (c) =>
		c.body(document(), 200, { "content-type": "application/json; charset=utf-8", "cache-control": "no-cache" }),
	);
	on(group, docs, async (c) => {
		docsPolicy ??= scriptHash(DOCS_INIT).then(docsCsp);
		return withPageHeaders(c.html(DOCS_PAGE), await docsPolicy);
	});
	on(group, consolePage, consoleAsset);
	on(group, consoleFiles, consoleAsset);
	// /docs's page script, a local static asset (scripts/build-docs.mjs).
	on(group, docsScript, consoleAsset);
	return group;
}
