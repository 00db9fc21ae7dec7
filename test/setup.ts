import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Applies migrations once per test file's storage; already-applied ones are skipped.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
