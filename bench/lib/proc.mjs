/**
 * Linux /proc helpers: the process tree under a pid and the resident memory of its members.
 * Only reads /proc; returns empty results where a process vanished between reads.
 */
import { readdirSync, readFileSync } from "node:fs";

/** `{ pid, ppid, comm }` of every process visible in /proc. */
export function listProcesses() {
	const processes = [];
	for (const name of readdirSync("/proc")) {
		if (!/^\d+$/.test(name)) continue;
		try {
			const stat = readFileSync(`/proc/${name}/stat`, "utf8");
			// comm is in parentheses and may itself contain spaces or ")": split after the last ")".
			const close = stat.lastIndexOf(")");
			const comm = stat.slice(stat.indexOf("(") + 1, close);
			const fields = stat.slice(close + 2).split(" ");
			processes.push({ pid: Number(name), ppid: Number(fields[1]), comm });
		} catch {
			// The process exited while we were listing.
		}
	}
	return processes;
}

/** Every descendant of `rootPid` (not the root itself), parents before children. */
export function descendants(rootPid) {
	const children = new Map();
	for (const p of listProcesses()) {
		const list = children.get(p.ppid) ?? [];
		list.push(p);
		children.set(p.ppid, list);
	}
	const found = [];
	const queue = [rootPid];
	while (queue.length > 0) {
		const pid = queue.shift();
		for (const child of children.get(pid) ?? []) {
			found.push(child);
			queue.push(child.pid);
		}
	}
	return found;
}

/** The command line of a process as one string ("" once it is gone). */
export function cmdline(pid) {
	try {
		return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
	} catch {
		return "";
	}
}

/** workerd processes under `rootPid`, each with its command line. */
export function workerdProcesses(rootPid) {
	return descendants(rootPid)
		.map((p) => ({ ...p, cmdline: cmdline(p.pid) }))
		.filter((p) => p.comm.includes("workerd") || /(^|\/)workerd(\s|$)/.test(p.cmdline));
}

/** `{ rssKb, anonKb, fileKb }` from /proc/<pid>/status, or null once the process is gone. */
export function memoryOf(pid) {
	let status;
	try {
		status = readFileSync(`/proc/${pid}/status`, "utf8");
	} catch {
		return null;
	}
	const field = (name) => {
		const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status);
		return match ? Number(match[1]) : 0;
	};
	return { rssKb: field("VmRSS"), anonKb: field("RssAnon"), fileKb: field("RssFile") };
}

/** Whether a process with this pid exists. */
export function alive(pid) {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return error.code === "EPERM";
	}
}

/** Clock ticks per second of /proc/<pid>/stat times; 100 on every Linux this runs on. */
export const CLOCK_TICKS = 100;

/** User + system CPU seconds a process has used so far, or null once it is gone. */
export function cpuSeconds(pid) {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
		// After "pid (comm) ", fields[11] is utime and fields[12] stime.
		return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
	} catch {
		return null;
	}
}

/**
 * CPU nanoseconds a process has run so far, summed over its threads (`/proc/<pid>/task/<tid>/schedstat`,
 * first field: time on a CPU), or null once it is gone. /proc/<pid>/stat counts in 10 ms ticks, too
 * coarse for one queue message or alarm; schedstat is the scheduler's own nanosecond account.
 */
export function cpuNanos(pid) {
	try {
		let total = 0;
		for (const tid of readdirSync(`/proc/${pid}/task`)) {
			try {
				total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
			} catch {
				// The thread exited between the listing and the read; its time is lost to this reading.
			}
		}
		return total;
	} catch {
		return null;
	}
}
