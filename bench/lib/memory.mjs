/**
 * Samples the resident memory of the workerd processes under a pid at a fixed interval,
 * so a phase's peak can be compared with an idle baseline.
 */
import { memoryOf, workerdProcesses } from "./proc.mjs";

export const KIB_PER_MIB = 1024;

/** A short name for a workerd process of `wrangler dev`, from its command line. */
export function workerdRole(cmdline, port) {
	if (cmdline.includes(`entry=127.0.0.1:${port}`)) return "proxy";
	if (cmdline.includes("--inspector-addr")) return "worker";
	return "workerd";
}

/** One reading of every workerd process: `{ t, totalKb, procs: { [pid]: { rssKb, anonKb, fileKb } } }`. */
export function readWorkerd(pids) {
	const procs = {};
	let totalKb = 0;
	for (const pid of pids) {
		const m = memoryOf(pid);
		if (!m) continue;
		procs[pid] = m;
		totalKb += m.rssKb;
	}
	return { t: Date.now(), totalKb, procs };
}

/**
 * Starts sampling every `intervalMs`. `mark(label)` notes a moment in the series;
 * `stop()` ends sampling and returns `{ samples, marks }`. Re-reads the process tree every
 * second in case wrangler restarts a runtime.
 */
export function startSampler(rootPid, intervalMs = 100) {
	const samples = [];
	const marks = [];
	let pids = workerdProcesses(rootPid).map((p) => p.pid);
	let lastScan = Date.now();
	const timer = setInterval(() => {
		if (Date.now() - lastScan > 1000) {
			pids = workerdProcesses(rootPid).map((p) => p.pid);
			lastScan = Date.now();
		}
		samples.push(readWorkerd(pids));
	}, intervalMs);
	samples.push(readWorkerd(pids));
	return {
		mark: (label) => marks.push({ label, t: Date.now(), index: samples.length }),
		stop: () => {
			clearInterval(timer);
			samples.push(readWorkerd(pids));
			return { samples, marks };
		},
	};
}

/** The sample with the largest total in `samples[from..to)`, or undefined. */
export function peakOf(samples, from = 0, to = samples.length) {
	let peak;
	for (const s of samples.slice(from, to)) if (!peak || s.totalKb > peak.totalKb) peak = s;
	return peak;
}

/** For each pid, its largest RSS in `samples[from..to)`. */
export function perPidPeak(samples, from = 0, to = samples.length) {
	const peaks = {};
	for (const s of samples.slice(from, to)) {
		for (const [pid, m] of Object.entries(s.procs)) {
			if (!peaks[pid] || m.rssKb > peaks[pid].rssKb) peaks[pid] = m;
		}
	}
	return peaks;
}
