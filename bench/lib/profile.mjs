/**
 * A CPU profile of the gateway's isolate through workerd's V8 inspector (the Chrome DevTools
 * protocol over a WebSocket, Node 22's global WebSocket): where the CPU of a request goes.
 * Samples are attributed to the function they were taken in ("self" time) and, through the
 * bundle's source map, to the source file: src/... or the npm package.
 */
import { readFileSync } from "node:fs";

/** Opens the inspector of `workerName` on `port` and returns `send(method, params)` and `close()`. */
async function connect(port, workerName) {
	const ws = new WebSocket(`ws://127.0.0.1:${port}/core:user:${workerName}`);
	await new Promise((resolve, reject) => {
		ws.addEventListener("open", resolve, { once: true });
		ws.addEventListener("error", () => reject(new Error(`no inspector for ${workerName} on port ${port}`)), {
			once: true,
		});
	});
	let nextId = 1;
	const pending = new Map();
	ws.addEventListener("message", (event) => {
		const message = JSON.parse(String(event.data));
		const waiter = message.id && pending.get(message.id);
		if (!waiter) return;
		pending.delete(message.id);
		if (message.error) waiter.reject(new Error(`${waiter.method}: ${message.error.message}`));
		else waiter.resolve(message.result);
	});
	const send = (method, params = {}) =>
		new Promise((resolve, reject) => {
			const id = nextId++;
			pending.set(id, { resolve, reject, method });
			ws.send(JSON.stringify({ id, method, params }));
		});
	return { send, close: () => ws.close() };
}

/** Runs `load()` while the isolate is being profiled; returns the raw V8 profile. */
export async function profileWhile({ port, workerName, load, intervalUs = 100 }) {
	const inspector = await connect(port, workerName);
	try {
		await inspector.send("Profiler.enable");
		await inspector.send("Profiler.setSamplingInterval", { interval: intervalUs });
		await inspector.send("Profiler.start");
		const loadResult = await load();
		const { profile } = await inspector.send("Profiler.stop");
		await inspector.send("Profiler.disable");
		return { profile, loadResult };
	} finally {
		inspector.close();
	}
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Decodes a v3 source map into, per generated line, sorted [column, sourceIndex] pairs. */
function decodeSourceMap(map) {
	const values = new Map([...B64].map((c, i) => [c, i]));
	const lines = [];
	let source = 0;
	for (const line of map.mappings.split(";")) {
		const segments = [];
		let column = 0;
		for (const segment of line.split(",")) {
			if (!segment) continue;
			const fields = [];
			let value = 0;
			let shift = 0;
			for (const char of segment) {
				const digit = values.get(char);
				value += (digit & 31) << shift;
				if (digit & 32) shift += 5;
				else {
					fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
					value = 0;
					shift = 0;
				}
			}
			column += fields[0];
			if (fields.length > 1) {
				source += fields[1];
				segments.push([column, source]);
			}
		}
		lines.push(segments);
	}
	return lines;
}

/** Where a bundle position comes from: "src/db/tasks.ts" or "npm:drizzle-orm". */
function sourceLabel(path) {
	// drizzle-orm ships source maps into its own "../src": the bundle's map then names
	// node_modules/src/... for it.
	if (/node_modules\/src\//.test(path)) return "npm:drizzle-orm";
	const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
	if (pkg) return `npm:${pkg[1]}`;
	const src = /(src\/.*)$/.exec(path);
	return src ? src[1] : path;
}

/** The framework the gateway stands on, by the source labels below: drizzle-orm, Hono (and @hono/*), zod. */
export const FRAMEWORK = /^npm:(drizzle-orm|hono|@hono\/[^/]+|zod)$/;
/** Issue 20's target: the framework's share of the isolate's samples under the list mix. */
export const FRAMEWORK_SHARE_TARGET = 0.15;

/**
 * Where a profile's call frame comes from: `src/...`, `npm:<package>`, `runtime:<url>` for
 * workerd's own modules, through the bundle's source map `mapFile` (optional).
 */
export function frameLocator(mapFile) {
	let lines;
	let sources;
	const bundleName = mapFile
		?.split("/")
		.pop()
		.replace(/\.map$/, "");
	if (mapFile) {
		try {
			const map = JSON.parse(readFileSync(mapFile, "utf8"));
			lines = decodeSourceMap(map);
			sources = map.sources;
		} catch {
			lines = undefined;
		}
	}
	return (frame) => {
		if (!frame.url) return frame.functionName || "(native)";
		// Only the bundle's own frames map through its source map; the runtime's built-in
		// modules (the D1 and tracing shims, …) are named by their URL.
		if (bundleName && !frame.url.endsWith(`/${bundleName}`) && frame.url !== bundleName) return `runtime:${frame.url}`;
		const segments = lines?.[frame.lineNumber];
		if (!segments?.length) return frame.url.split("/").pop();
		let found = segments[0][1];
		for (const [column, source] of segments) {
			if (column > frame.columnNumber) break;
			found = source;
		}
		return sourceLabel(sources[found]);
	};
}

/**
 * Self time per function and per source file, in ms and as a share of the sampled time,
 * without "(idle)". `mapFile` is the bundle's .map (optional); `intervalUs`, the sampling
 * interval, caps what one sample counts (give it for an isolate that is idle between bursts).
 */
export function summarizeProfile(
	profile,
	{ mapFile, top = 15, groups = {}, intervalUs = Number.POSITIVE_INFINITY } = {},
) {
	const locate = frameLocator(mapFile);
	const byId = new Map(profile.nodes.map((node) => [node.id, node]));
	const selfUs = new Map();
	for (let i = 0; i < profile.samples.length; i++) {
		const id = profile.samples[i];
		// A sample counts the time since the one before; after the isolate sat idle with no samples
		// taken, that is the whole idle stretch (140 s in one sample of a growth run), so a profile
		// of a mostly idle isolate caps each sample at the interval it was taken at.
		selfUs.set(id, (selfUs.get(id) ?? 0) + Math.min(profile.timeDeltas[i] ?? 0, intervalUs));
	}
	const byFunction = new Map();
	const bySource = new Map();
	let total = 0;
	for (const [id, us] of selfUs) {
		const { callFrame } = byId.get(id);
		if (callFrame.functionName === "(idle)") continue;
		total += us;
		const where = locate(callFrame);
		const name = `${callFrame.functionName || "(anonymous)"} (${where})`;
		byFunction.set(name, (byFunction.get(name) ?? 0) + us);
		bySource.set(where, (bySource.get(where) ?? 0) + us);
	}
	// Inclusive time of each group: samples with any frame of the group on their stack.
	const parent = new Map();
	for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
	const groupUs = Object.fromEntries(Object.keys(groups).map((name) => [name, 0]));
	const labels = new Map();
	const labelOf = (id) => {
		if (!labels.has(id)) labels.set(id, locate(byId.get(id).callFrame));
		return labels.get(id);
	};
	for (const [id, us] of selfUs) {
		if (byId.get(id).callFrame.functionName === "(idle)") continue;
		const stack = [];
		for (let at = id; at !== undefined; at = parent.get(at)) stack.push(labelOf(at));
		for (const [name, test] of Object.entries(groups)) if (stack.some((label) => test.test(label))) groupUs[name] += us;
	}
	const rank = (m) =>
		[...m.entries()]
			.sort((a, b) => b[1] - a[1])
			.slice(0, top)
			.map(([name, us]) => ({ name, ms: us / 1000, share: total ? us / total : 0 }));
	const framework = Object.fromEntries(
		[...bySource.entries()]
			.filter(([name]) => FRAMEWORK.test(name))
			.map(([name, us]) => [name, total ? us / total : 0]),
	);
	const frameworkShare = Object.values(framework).reduce((a, b) => a + b, 0);
	return {
		sampledMs: total / 1000,
		// Self time in drizzle-orm + Hono + zod over all sampled time (issue 20: under 15%).
		framework: {
			share: frameworkShare,
			parts: framework,
			target: FRAMEWORK_SHARE_TARGET,
			pass: frameworkShare < FRAMEWORK_SHARE_TARGET,
		},
		functions: rank(byFunction),
		sources: rank(bySource),
		groups: Object.fromEntries(
			Object.entries(groupUs).map(([name, us]) => [name, { ms: us / 1000, share: total ? us / total : 0 }]),
		),
	};
}

/**
 * The isolate's own running time (ms) in each window ({ fromUs, toUs } on the monotonic clock,
 * which V8 and Node both stamp with) of one V8 CPU profile. workerd's sampler takes samples only
 * while the isolate runs: a sample's timeDelta after a pause spans the pause, so each non-idle
 * sample counts for at most one sampling interval. Null when the profile does not cover them.
 * `leaf(callFrame)`, when given, counts only the samples taken in a frame it accepts (self time).
 */
export function busyMsInWindows(profile, windows, intervalUs, { leaf } = {}) {
	if (windows.length === 0) return [];
	const first = Math.min(...windows.map((w) => w.fromUs));
	const last = Math.max(...windows.map((w) => w.toUs));
	if (profile.startTime > first || profile.endTime < last) return null;
	const skip = new Set(
		profile.nodes.filter((n) => n.callFrame.functionName === "(idle)" || (leaf && !leaf(n.callFrame))).map((n) => n.id),
	);
	const times = [];
	let t = profile.startTime;
	for (let i = 0; i < profile.samples.length; i++) {
		t += profile.timeDeltas[i] ?? 0;
		times.push(t);
	}
	return windows.map((w) => {
		let us = 0;
		for (let i = 0; i < times.length; i++) {
			if (times[i] < w.fromUs || times[i] > w.toUs || skip.has(profile.samples[i])) continue;
			us += Math.min(profile.timeDeltas[i] ?? 0, intervalUs);
		}
		return us / 1000;
	});
}
