/**
 * The simulator Worker's entry (`mj-edge-simulator`): a stand-in midjourney-proxy for local
 * development and tests, never part of the gateway's bundle. The gateway reaches it as any
 * other upstream channel; see docs/simulators.md.
 */
import { simulatorApp } from "./app";
import type { SimulatorEnv } from "./env";

export { SimIndexObject, SimTaskObject } from "./object";

export default {
	fetch: simulatorApp.fetch,
} satisfies ExportedHandler<SimulatorEnv>;
