import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Every test runs inside workerd with the real D1, R2, Queues and Durable Objects of
// wrangler.toml; the bindings below switch on the simulator and fix the secrets.
export default defineConfig(async () => {
	const migrations = await readD1Migrations("./migrations");
	return {
		plugins: [
			cloudflareTest({
				wrangler: { configPath: "./wrangler.toml" },
				miniflare: {
					bindings: {
						ENVIRONMENT: "test",
						PUBLIC_BASE_URL: "http://gateway.test",
						SIMULATOR_ENABLED: "true",
						SIMULATOR_STEP_MS: "150",
						NEW_USER_QUOTA: "1000000",
						BANNED_WORDS: "forbiddenword",
						JWT_SECRET: "test-jwt-secret-0123456789abcdef0123456789",
						SIGNING_SECRET: "test-signing-secret-0123456789abcdef",
						TEST_MIGRATIONS: migrations,
					},
				},
			}),
		],
		test: {
			include: ["test/**/*.test.ts"],
			setupFiles: ["./test/setup.ts"],
			testTimeout: 30_000,
			hookTimeout: 30_000,
		},
	};
});
