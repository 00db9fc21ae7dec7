#!/usr/bin/env node
// `node bench/cold-objects.mjs`: what a Durable Object call costs the calling isolate in local
// workerd, for an object that is not running yet (cold) and for one that is (warm). A bare caller
// Worker calls `apply()` on 60 objects at once, under a V8 profile of its isolate, three rounds:
// fresh names, fresh names again, then the first round's names (now running). bench/growth.mjs
// quotes it: the cron's first call to each task's object is a cold one.
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { busyMsInWindows, profileWhile } from "./lib/profile.mjs";
import { freePort } from "./lib/server.mjs";

const OBJECT = `import { DurableObject } from "cloudflare:workers";
export class Obj extends DurableObject {
	async apply() {
		const state = (await this.ctx.storage.get("s")) ?? { n: 0 };
		state.n += 1;
		await this.ctx.storage.put("s", state);
		return { applied: true };
	}
}
export default { fetch: () => new Response("") };`;
const CALLER = `export default {
	async fetch(request, env) {
		const url = new URL(request.url);
		const n = Number(url.searchParams.get("n"));
		const tag = url.searchParams.get("tag");
		const results = await Promise.all(Array.from({ length: n }, (_, i) => env.OBJ.get(env.OBJ.idFromName(tag + i)).apply()));
		return new Response(String(results.length));
	},
};`;
const CALLS = 60;
const INTERVAL_US = 250;

const inspectorPort = await freePort();
const objects = { OBJ: { className: "Obj", useSQLite: true } };
const mf = new Miniflare(
	convertV4MiniflareOptions({
		inspectorPort,
		workers: [
			{
				name: "caller",
				modules: true,
				script: CALLER,
				compatibilityDate: "2026-10-20",
				durableObjects: { OBJ: { ...objects.OBJ, scriptName: "objects" } },
			},
			{ name: "objects", modules: true, script: OBJECT, compatibilityDate: "2026-10-20", durableObjects: objects },
		],
	}),
);
try {
	const base = await mf.ready;
	await (await fetch(new URL("?n=1&tag=warmup", base))).text();
	for (const [label, tag] of [
		["cold", "a"],
		["cold", "b"],
		["warm", "a"],
	]) {
		const monoUs = () => Number(process.hrtime.bigint() / 1000n);
		let window;
		const { profile } = await profileWhile({
			port: inspectorPort,
			workerName: "caller",
			intervalUs: INTERVAL_US,
			load: async () => {
				const fromUs = monoUs();
				await (await fetch(new URL(`?n=${CALLS}&tag=${tag}`, base))).text();
				window = { fromUs, toUs: monoUs() };
			},
		});
		const [ms] = busyMsInWindows(profile, [window], INTERVAL_US);
		console.log(
			`${label}: ${CALLS} object calls cost the calling isolate ${ms.toFixed(1)} ms (${((ms / CALLS) * 1000).toFixed(0)} µs a call)`,
		);
	}
} finally {
	await mf.dispose();
}
