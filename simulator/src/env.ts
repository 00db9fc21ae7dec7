/**
 * The simulator Worker's bindings (simulator/wrangler.toml). Written by hand rather than by
 * `wrangler types`: a second generated `Env` would merge into the gateway's global one,
 * and the gateway must not even see that the simulator exists.
 */
import type { SimIndexObject, SimTaskObject } from "./object";

export interface SimulatorEnv {
	/** One Durable Object per simulated task, addressed by the task id. */
	TASKS: DurableObjectNamespace<SimTaskObject>;
	/** One Durable Object (named "recent") listing the latest task ids, for /task/list and /task/queue. */
	INDEX: DurableObjectNamespace<SimIndexObject>;
	/** Milliseconds per progress step; 800 unless set. */
	SIMULATOR_STEP_MS?: string;
	/**
	 * Tests only: the gateway under test is reachable through this binding, not the network.
	 * notifyHook posts whose origin is GATEWAY_URL go through it; all others use plain fetch.
	 */
	GATEWAY?: Fetcher;
	GATEWAY_URL?: string;
}

/** The `mj-api-secret` the simulator accepts. */
export const SIMULATOR_SECRET = "mj-edge-simulator";
