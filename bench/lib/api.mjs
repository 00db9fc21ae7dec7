/** A small client for the gateway's seed-002 API, plus the token it needs. */
import { existsSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { SignJWT } from "jose";

function secretFrom(file) {
	if (!existsSync(file)) return undefined;
	const line = readFileSync(file, "utf8")
		.split("\n")
		.find((l) => l.startsWith("JWT_SECRET="));
	return line?.slice("JWT_SECRET=".length).trim() || undefined;
}

/** An HS256 token for `sub`, signed with JWT_SECRET from the first of `varsFiles` that has one. */
export async function makeToken(varsFiles, sub, role = "user") {
	const secret = varsFiles.map(secretFrom).find(Boolean);
	if (!secret) throw new Error(`no JWT_SECRET in ${varsFiles.join(" or ")}`);
	return new SignJWT({ role })
		.setProtectedHeader({ alg: "HS256", typ: "JWT" })
		.setSubject(sub)
		.setIssuedAt()
		.setExpirationTime("2h")
		.sign(new TextEncoder().encode(secret));
}

/** A response's body: parsed JSON, or the text when it is not JSON. */
export async function readBody(response) {
	const text = await response.text();
	try {
		return JSON.parse(text);
	} catch {
		return text;
	}
}

export class Client {
	constructor(base, token) {
		this.base = base;
		this.headers = { authorization: `Bearer ${token}` };
	}

	async #get(path) {
		const res = await fetch(`${this.base}${path}`, { headers: this.headers, signal: AbortSignal.timeout(15_000) });
		const body = await readBody(res);
		return { status: res.status, body };
	}

	/** Submits an IMAGINE and returns the task id. */
	async imagine(prompt) {
		const q = new URLSearchParams({ action: "IMAGINE", prompt });
		const { status, body } = await this.#get(`/api/v1/trigger/submit?${q}`);
		if (status !== 200 || body?.code !== 1 || typeof body.result !== "string") {
			throw new Error(`submit answered ${status} ${JSON.stringify(body)}`);
		}
		return body.result;
	}

	fetchUrl(id) {
		return `${this.base}/api/v1/task/fetch?${new URLSearchParams({ _id: id })}`;
	}

	async task(id) {
		const { status, body } = await this.#get(`/api/v1/task/fetch?${new URLSearchParams({ _id: id })}`);
		if (status !== 200) throw new Error(`fetch ${id} answered ${status} ${JSON.stringify(body)}`);
		return body;
	}

	/**
	 * Polls the task until `done(task)` holds; throws on FAILURE or after `timeoutMs`.
	 * Returns the last task seen.
	 */
	async waitFor(id, done, { timeoutMs = 60_000, intervalMs = 250 } = {}) {
		const deadline = Date.now() + timeoutMs;
		let last;
		for (;;) {
			last = await this.task(id);
			if (done(last)) return last;
			if (last.status === "FAILURE") throw new Error(`task ${id} failed: ${JSON.stringify(last)}`);
			if (Date.now() > deadline) {
				throw new Error(`task ${id} not done within ${timeoutMs} ms; last seen ${JSON.stringify(last)}`);
			}
			await sleep(intervalMs);
		}
	}
}
