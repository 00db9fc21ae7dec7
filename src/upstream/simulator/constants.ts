/** Base URL of the built-in simulator channel. Never resolvable on the network. */
export const SIMULATOR_ORIGIN = "http://mj-simulator.internal";
/** The `mj-api-secret` the simulator accepts. */
export const SIMULATOR_SECRET = "mj-edge-simulator";
