/**
 * A closed-loop HTTP load generator: `concurrency` workers, each sending its next request as
 * soon as the previous one is answered. Only requests that complete inside the measuring
 * window (after the warm-up) count; it stops by itself when the window ends.
 */
import { performance } from "node:perf_hooks";

/** The value at fraction `q` (0..1) of an ascending array, nearest-rank; NaN when empty. */
export function percentile(sorted, q) {
	if (sorted.length === 0) return Number.NaN;
	const rank = Math.ceil(q * sorted.length);
	return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Median of numbers (NaN when empty). */
export function median(values) {
	const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
	if (sorted.length === 0) return Number.NaN;
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Runs the loop against one URL and returns
 * `{ requests, rps, p50Ms, p99Ms, meanMs, errors, statuses, probe }`; `errors` counts non-2xx
 * answers and failed requests (network errors, timeouts). `probe()`, if given, is called
 * when the measuring window opens and when it closes; `probe` holds both results.
 */
export async function closedLoop({
	url,
	headers = {},
	concurrency = 16,
	warmupMs = 2000,
	durationMs = 8000,
	timeoutMs = 10_000,
	probe,
}) {
	const target = new URL(url);
	if (target.hostname !== "127.0.0.1") throw new Error(`load only goes to 127.0.0.1, not ${target.hostname}`);
	const start = performance.now();
	const measureFrom = start + warmupMs;
	const end = measureFrom + durationMs;
	const latencies = [];
	const statuses = {};
	let errors = 0;
	const probed = {};
	const timers = probe
		? [
				setTimeout(() => {
					probed.start = probe();
				}, warmupMs),
				setTimeout(() => {
					probed.end = probe();
				}, warmupMs + durationMs),
			]
		: [];

	const worker = async () => {
		while (performance.now() < end) {
			const t0 = performance.now();
			let status;
			try {
				const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
				await res.arrayBuffer();
				status = res.status;
			} catch (error) {
				status = error?.name === "TimeoutError" ? "timeout" : "network-error";
			}
			const t1 = performance.now();
			if (t1 < measureFrom || t1 > end) continue;
			latencies.push(t1 - t0);
			statuses[status] = (statuses[status] ?? 0) + 1;
			if (typeof status !== "number" || status < 200 || status > 299) errors++;
		}
	};
	await Promise.all(Array.from({ length: concurrency }, worker));
	for (const timer of timers) clearTimeout(timer);
	// A timer starved by a busy loop may not have fired yet: close the window now.
	if (probe && probed.start === undefined) probed.start = probe();
	if (probe && probed.end === undefined) probed.end = probe();

	latencies.sort((a, b) => a - b);
	const sum = latencies.reduce((a, b) => a + b, 0);
	return {
		requests: latencies.length,
		rps: latencies.length / (durationMs / 1000),
		p50Ms: percentile(latencies, 0.5),
		p99Ms: percentile(latencies, 0.99),
		meanMs: latencies.length ? sum / latencies.length : Number.NaN,
		errors,
		statuses,
		...(probe ? { probe: probed } : {}),
	};
}
