#!/usr/bin/env node
// `npm run openapi:lint` (and `node scripts/openapi.mjs [out]`): writes the OpenAPI document the
// Worker serves at /openapi.json to dist/openapi.json, from the same code (apiDocument in src/app.ts)
// bundled for Node. The document is a pure function of the route schemas; the route modules it
// imports only touch the Workers runtime inside handlers, so `cloudflare:*` imports are stubbed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

const out = resolve(process.argv[2] ?? "dist/openapi.json");
const dir = mkdtempSync(join(tmpdir(), "mj-edge-openapi-"));
const bundle = join(dir, "document.mjs");
try {
	await build({
		entryPoints: ["src/app.ts"],
		outfile: bundle,
		bundle: true,
		format: "esm",
		platform: "node",
		target: "node22",
		logLevel: "warning",
		plugins: [
			{
				name: "stub-cloudflare",
				setup(b) {
					b.onResolve({ filter: /^cloudflare:/ }, (args) => ({ path: args.path, namespace: "stub" }));
					b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
						contents: "export class DurableObject {} export class WorkerEntrypoint {} export const env = {};",
					}));
				},
			},
		],
	});
	const { apiDocument } = await import(pathToFileURL(bundle).href);
	mkdirSync(dirname(out), { recursive: true });
	writeFileSync(out, `${JSON.stringify(apiDocument(), null, "\t")}\n`);
	console.log(`wrote ${out}`);
} finally {
	rmSync(dir, { recursive: true, force: true });
}
