#!/usr/bin/env node
// `npm run build:docs`: puts the /docs page's script, Scalar's standalone API reference bundle,
// into the Worker's static assets (wrangler.toml [assets], dist/web) as /docs/scalar.js, so the
// page loads nothing from a CDN. Run by `npm start`, `npm run deploy` (predeploy) and
// vitest.config.ts; dist/ is not committed. Copies only when the bundle changed.
import { copyFileSync, existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The assets directory of wrangler.toml, and where /docs/scalar.js lives inside it. */
export const ASSETS_DIR = "dist/web";
export const DOCS_SCRIPT = "docs/scalar.js";

/** Copies the bundle into `root`/dist/web/docs/scalar.js; returns the file's path. */
export function buildDocs(root = process.cwd()) {
	// The package exports no subpath for its browser bundle: read it from node_modules.
	const source = resolve(root, "node_modules/@scalar/api-reference/dist/browser/standalone.js");
	const target = resolve(root, ASSETS_DIR, DOCS_SCRIPT);
	const fresh =
		existsSync(target) &&
		statSync(target).size === statSync(source).size &&
		statSync(target).mtimeMs >= statSync(source).mtimeMs;
	if (!fresh) {
		mkdirSync(dirname(target), { recursive: true });
		copyFileSync(source, target);
	}
	return target;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	console.log(`wrote ${buildDocs()}`);
}
