import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { simulatorApp } from "../../src/upstream/simulator/app";

it("perf", async () => {
	const h = { "mj-api-secret": "mj-edge-simulator", "content-type": "application/json" };
	const r = await simulatorApp.fetch(new Request("http://mj-simulator.internal/mj/submit/imagine", { method: "POST", headers: h, body: JSON.stringify({ prompt: "big --sim-size 200mb" }) }), env);
	const { result } = await r.json<{ result: string }>();
	await new Promise((res) => setTimeout(res, 700));
	const t0 = Date.now();
	const img = await simulatorApp.fetch(new Request(`http://mj-simulator.internal/sim/image/${result}.png`), env);
	let n = 0;
	let maxChunk = 0;
	for await (const c of img.body as ReadableStream<Uint8Array>) { n += c.length; maxChunk = Math.max(maxChunk, c.length); }
	console.log("bytes", n, "header", img.headers.get("content-length"), "ms", Date.now() - t0, "maxChunk", maxChunk);
	expect(String(n)).toBe(img.headers.get("content-length"));
	await env.IMAGES.put("x.png", (await simulatorApp.fetch(new Request(`http://mj-simulator.internal/sim/image/${result}.png`), env)).body);
	console.log("r2 size", (await env.IMAGES.head("x.png"))?.size);
}, 120_000);
