import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { build } from "esbuild";
import { defineConfig } from "vitest/config";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { buildDocs } from "./scripts/build-docs.mjs";
import { buildWeb } from "./web/build";

/** The test project's name fixes the runner Worker's name, which the simulator binds to as GATEWAY. */
const PROJECT = "mj-edge";
const RUNNER = `vitest-plugin-runner-${PROJECT}`;
const GATEWAY_URL = "http://gateway.test";
/** Relative to the project root, where vitest runs. */
const SIMULATOR_BUNDLE = "dist/simulator/index.js";
const FAKE_DISCORD_BUNDLE = "dist/fake-discord/index.js";
/** The test queues' batch window in seconds (Miniflare takes fractions); see below. */
const TEST_BATCH_WINDOW_S = 1;

/**
 * notifyHook posts the simulator makes to anyone but the gateway land here (its outbound
 * fetch), so tests can read them back through the gateway's HOOK_SINK binding:
 * `GET http://sink/?url=<hook url>` answers the bodies posted to that URL, oldest first.
 */
const hookPosts: { url: string; body: unknown }[] = [];
async function hookSink(request: Request): Promise<Response> {
	if (request.method === "POST") {
		hookPosts.push({ url: request.url, body: await request.json() });
		return new Response("ok");
	}
	const url = new URL(request.url).searchParams.get("url");
	return Response.json(hookPosts.filter((post) => post.url === url).map((post) => post.body));
}

// Every test runs inside workerd with the real D1, R2, Queues and Durable Objects of
// wrangler.toml; the bindings below fix the secrets and put the upstream simulator
// (simulator/, built here into one module) next to the gateway as an auxiliary Worker,
// bound as SIMULATOR exactly as `npm start` binds it, and the fake Discord
// (simulator/discord/) likewise as FAKE_DISCORD.
export default defineConfig(async () => {
	const migrations = await readD1Migrations("./migrations");
	// wrangler.toml's consumers with a batch window (TEST_BATCH_WINDOW_S) instead of production's
	// 0: with 0, local queues redeliver retried messages back to back, so a test file that leaves
	// one retrying kept the shared workerd busy after it finished and a whole run could hang. A
	// 50 ms window (5 December) took a second off many task hops but stalled three whole runs of
	// three between two files (the pool never started the next one), so it is 1 s again. No test
	// depends on the window; the bench measures production's.
	const { queueConsumers } = unstable_getMiniflareWorkerOptions("./wrangler.toml").workerOptions;
	const testQueueConsumers = Object.fromEntries(
		Object.entries(queueConsumers ?? {}).map(([queue, consumer]) => [
			queue,
			{ ...consumer, maxBatchTimeout: Math.max(TEST_BATCH_WINDOW_S, consumer.maxBatchTimeout ?? 0) },
		]),
	);
	// wrangler.toml's [assets] directory must exist before the Worker starts: the console, built.
	await buildWeb();
	// /docs needs its script beside the console in the same directory.
	buildDocs();
	for (const [entry, outfile] of [
		["simulator/src/index.ts", SIMULATOR_BUNDLE],
		["simulator/discord/src/index.ts", FAKE_DISCORD_BUNDLE],
	]) {
		await build({
			entryPoints: [entry],
			outfile,
			bundle: true,
			format: "esm",
			platform: "neutral",
			target: "es2024",
			external: ["cloudflare:*"],
			logLevel: "warning",
		});
	}
	return {
		plugins: [
			cloudflareTest({
				wrangler: { configPath: "./wrangler.toml" },
				// wrangler.toml's [ai] binding is remote by default: tests never reach Cloudflare, and
				// translate with the local fake (TRANSLATOR below).
				remoteBindings: false,
				miniflare: {
					bindings: {
						ENVIRONMENT: "test",
						PUBLIC_BASE_URL: GATEWAY_URL,
						SIMULATOR_URL: "http://mj-simulator.internal",
						FAKE_DISCORD_URL: "http://fake-discord.internal",
						NEW_USER_QUOTA: "1000000",
						BANNED_WORDS: "forbiddenword",
						// Discord accounts pace their interactions (800 ms by default); the tests' fake Discord
						// needs no such care, and discord-actions.test.ts checks the pace holds.
						DISCORD_PACE_MS: "100",
						TRANSLATOR: "fake",
						JWT_SECRET: "test-jwt-secret-0123456789abcdef0123456789",
						SIGNING_SECRET: "test-signing-secret-0123456789abcdef",
						TEST_MIGRATIONS: migrations,
					},
					serviceBindings: {
						SIMULATOR: "mj-edge-simulator",
						FAKE_DISCORD: "mj-edge-fake-discord",
						HOOK_SINK: hookSink,
					},
					queueConsumers: testQueueConsumers,
					workers: [
						{
							name: "mj-edge-simulator",
							modules: true,
							scriptPath: SIMULATOR_BUNDLE,
							compatibilityDate: "2026-10-20",
							durableObjects: {
								TASKS: { className: "SimTaskObject", useSQLite: true },
								INDEX: { className: "SimIndexObject", useSQLite: true },
							},
							bindings: { SIMULATOR_STEP_MS: "150", GATEWAY_URL },
							serviceBindings: { GATEWAY: RUNNER },
							outboundService: hookSink,
						},
						{
							// The fake Discord (simulator/discord/): REST, gateway, CDN, activity host.
							name: "mj-edge-fake-discord",
							modules: true,
							scriptPath: FAKE_DISCORD_BUNDLE,
							compatibilityDate: "2026-10-20",
							durableObjects: { HUB: { className: "FakeDiscordHub", useSQLite: true } },
							// A job's steps 50 ms apart (700 ms in production-like runs): tests see every step as a
							// gateway frame, and those that need a job in flight hold its steps (/_fake/hold).
							bindings: { FAKE_DISCORD_STEP_MS: "50", FAKE_DISCORD_HEARTBEAT_MS: "1000" },
						},
					],
				},
			}),
		],
		test: {
			name: PROJECT,
			include: ["test/**/*.test.ts"],
			setupFiles: ["./test/setup.ts"],
			testTimeout: 30_000,
			hookTimeout: 30_000,
		},
	};
});
