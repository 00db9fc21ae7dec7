/**
 * Builds the web console (web/) into the Worker's static assets (wrangler.toml [assets]):
 * dist/web/index.html, dist/web/app/console.{js,css} and the icon dist/web/app/favicon.svg. esbuild
 * only, no CDN and no dev server: `npm run build:web`, `npm start`, `npm test` (vitest.config.ts)
 * and deploys call it.
 */
import { build } from "esbuild";

/** The assets directory of wrangler.toml, relative to the project root. */
export const WEB_OUTDIR = "dist/web";

export async function buildWeb(outdir: string = WEB_OUTDIR): Promise<void> {
	await build({
		entryPoints: { index: "web/index.html", "app/console": "web/src/main.tsx", "app/favicon": "web/favicon.svg" },
		outdir,
		bundle: true,
		format: "esm",
		platform: "browser",
		target: "es2022",
		minify: true,
		sourcemap: false,
		jsx: "automatic",
		jsxImportSource: "preact",
		loader: { ".html": "copy", ".svg": "copy" },
		logLevel: "warning",
	});
}
