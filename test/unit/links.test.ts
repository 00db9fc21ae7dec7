import { describe, expect, it } from "vitest";
import { knownSignature, sign, signEach } from "../../src/auth/signing";
import { originUrl, originUrls } from "../../src/images/album-files";
import { originOf, requestBase, taskImageUrl, taskImageUrls } from "../../src/images/links";

describe("a page's image links (taskImageUrls)", () => {
	const env = { SIGNING_SECRET: "unit-test-links-secret" } as Env;
	const other = { SIGNING_SECRET: "unit-test-links-other" } as Env;
	const base = "https://gw.example";
	const task = (publicId: string, image: "key" | "upstream" | "none") => ({
		publicId,
		imageKey: image === "key" ? `images/${publicId}` : null,
		upstreamImageUrl: image === "upstream" ? "https://cdn.example/x.png" : "",
	});

	it("answers each task's taskImageUrl in order, signed before or not", async () => {
		const id = crypto.randomUUID();
		const page = [task(`${id}-a`, "key"), task(`${id}-b`, "none"), task(`${id}-c`, "upstream"), task(`${id}-d`, "key")];
		// One signed before, the others not yet.
		await sign(env, "image", `${id}-c`);
		expect(knownSignature(env, "image", `${id}-a`)).toBeUndefined();
		const urls = await taskImageUrls(env, base, page);
		expect(urls).toEqual(await Promise.all(page.map((t) => taskImageUrl(env, base, t))));
		expect(urls[1]).toBe("");
		expect(urls[0]).toMatch(new RegExp(`^${base}/mj/image/${id}-a\\?sig=[A-Za-z0-9_-]{43}$`));
		// Now all known: the same links again, without signing.
		expect(knownSignature(env, "image", `${id}-a`)).toBe(urls[0].split("sig=")[1]);
		expect(await taskImageUrls(env, base, page)).toEqual(urls);
	});

	it("keeps signatures apart by secret and purpose", async () => {
		const id = crypto.randomUUID();
		const mine = await sign(env, "image", id);
		expect(knownSignature(other, "image", id)).toBeUndefined();
		expect(knownSignature(env, "stream-ticket", id)).toBeUndefined();
		const theirs = await sign(other, "image", id);
		expect(theirs).not.toBe(mine);
		expect(knownSignature(env, "image", id)).toBe(mine);
		expect(knownSignature(other, "image", id)).toBe(theirs);
		expect(await sign(env, "album-origin", id)).not.toBe(mine);
	});

	it("signEach keeps nulls and order; originUrls answer each originUrl", async () => {
		const id = crypto.randomUUID();
		await sign(env, "album-origin", `${id}-2.png`);
		const values = [`${id}-1.png`, null, `${id}-2.png`, `${id}-1.png`];
		const signed = await signEach(env, "album-origin", values);
		expect(signed).toEqual(await Promise.all(values.map((v) => (v === null ? null : sign(env, "album-origin", v)))));
		expect(signed[0]).toBe(signed[3]);
		const keys = [`album-origins/${id}-1.png`, null, "templates/x.png", `album-origins/${id}-3.png`];
		expect(await originUrls(env, base, keys)).toEqual(await Promise.all(keys.map((k) => originUrl(env, base, k))));
		const urls = await originUrls(env, base, keys);
		expect(urls[2]).toBe("");
		expect(urls[1]).toBe("");
		expect(urls[0]).toMatch(new RegExp(`^${base}/userAlbum/origin/${id}-1\\.png\\?sig=[A-Za-z0-9_-]{43}$`));
	});
});

describe("a request's origin without parsing its URL again (originOf)", () => {
	it.each([
		"https://gw.example/api/v1/task/list?limit=5",
		"http://127.0.0.1:8787/api/mj/self",
		"https://gw.example:8443/",
		"https://gw.example",
		"https://user:pass@gw.example/x",
		"http://[::1]:8080/userAlbum?page=1",
		"https://xn--bcher-kva.example/a/b//c",
		"https://GW.Example:443/x",
	])("%s", (url) => {
		// What a Request's url reads as (workerd serialises it), then its origin as URL answers it.
		const served = new Request(url).url;
		expect(originOf(served)).toBe(new URL(served).origin);
	});

	it("PUBLIC_BASE_URL wins over the request's origin", () => {
		expect(requestBase({} as Env, "https://gw.example/api/mj/self")).toBe("https://gw.example");
		expect(requestBase({ PUBLIC_BASE_URL: "https://public.example" } as Env, "https://gw.example/x")).toBe(
			"https://public.example",
		);
	});
});
