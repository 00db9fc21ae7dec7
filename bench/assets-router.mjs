/**
 * What Miniflare's Workers Assets router costs in front of a Worker (bench/README.md): the same
 * hello Worker twice, bare and behind the router with wrangler.toml's [assets] settings
 * (run_worker_first), each in its own workerd process, under wrk (127.0.0.1, 3 s rounds, ABAB).
 * Needs the console built (`npm run build:web`) and Debian's wrk. Prints req/s and the ratio.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

const root = fileURLToPath(new URL("..", import.meta.url));
const { assets, compatibilityDate } = unstable_getMiniflareWorkerOptions(`${root}/wrangler.toml`).workerOptions;
const script = `export default { fetch: () => new Response('{"ok":true}', { headers: { "content-type": "application/json" } }) };`;

async function start(extra) {
	const mf = new Miniflare(
		convertV4MiniflareOptions({
			host: "127.0.0.1",
			port: 0,
			workers: [{ name: "hello", modules: true, script, compatibilityDate, ...extra }],
		}),
	);
	return { mf, url: await mf.ready };
}

const rps = (url) => {
	const out = execFileSync("wrk", ["-t1", "-c16", "-d3s", new URL("/health", url).href]).toString();
	return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
};

const bare = await start({});
const routed = await start({ assets });
try {
	rps(bare.url);
	rps(routed.url);
	const rounds = [];
	for (let i = 0; i < 3; i++) rounds.push({ bare: rps(bare.url), routed: rps(routed.url) });
	for (const r of rounds)
		console.log(
			`bare ${r.bare.toFixed(0)} req/s, behind the assets router ${r.routed.toFixed(0)} req/s, ratio ${(r.routed / r.bare).toFixed(2)}`,
		);
} finally {
	await Promise.all([bare.mf.dispose(), routed.mf.dispose()]);
}
