#!/usr/bin/env node
// `npm run test:browser`: the web console in a real Chromium against a local gateway.
// Starts a gateway of its own (test/lib/local-gateway.mjs: npm start on a free port with a fresh
// state), or uses the one `npm run test:e2e` shares between the npm-start checks; drives
// Debian's chromium through playwright-core with users of its own (subs end in this run's id),
// stops the gateway it started, and prints "N passed, N failed" (exit 1 on any failure).
// Screenshots of every page: test-results/browser/*.png.
import { execFile } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { resolve } from "node:path";
import { SignJWT } from "jose";
import { chromium } from "playwright-core";
import { valueFrom } from "../../scripts/lib/dev-vars.mjs";
import { useGateway } from "../lib/local-gateway.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const SHOTS = resolve("test-results/browser");
const STEP_TIMEOUT = 20_000;

let passed = 0;
let failed = 0;
let shot = 0;

/** The secret npm start gives wrangler dev: .dev.vars, which scripts/start.mjs creates when missing. */
function secret() {
	const value = valueFrom(".dev.vars", "JWT_SECRET");
	if (!value) throw new Error("no JWT_SECRET in .dev.vars (scripts/start.mjs creates it)");
	return value;
}

const token = (sub, role = "user") =>
	new SignJWT({ role })
		.setProtectedHeader({ alg: "HS256", typ: "JWT" })
		.setSubject(sub)
		.setIssuedAt()
		.setExpirationTime("1h")
		.sign(new TextEncoder().encode(secret()));

function assert(condition, message) {
	if (!condition) throw new Error(message);
}

// ---- the gateway: test/e2e.mjs's, or one of its own (test/lib/local-gateway.mjs) ----

/** Set by the first step. */
let gateway;
let base;
rmSync(SHOTS, { recursive: true, force: true });
mkdirSync(SHOTS, { recursive: true });

async function api(credential, method, path, body) {
	const response = await fetch(`${base}${path}`, {
		method,
		headers: { authorization: `Bearer ${credential}`, "content-type": "application/json" },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const json = await response.json();
	if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
	return json.data;
}

// A notifyHook receiver on 127.0.0.1 (the development gateway may call local addresses).
const hooks = createHttpServer();
await new Promise((done) => hooks.listen(0, "127.0.0.1", done));

// ---- the scenario ----

let browser;
let page;

async function screenshot(name, of = page) {
	shot += 1;
	const path = resolve(SHOTS, `${String(shot).padStart(2, "0")}-${name}.png`);
	// A part of a long page (the admin page at 390 px is many screens tall) is shot by itself.
	if (!of) return;
	await (of === page ? page.screenshot({ path, fullPage: true }) : of.screenshot({ path })).catch(() => undefined);
}

async function step(name, run) {
	const started = Date.now();
	try {
		await run();
		passed += 1;
		console.log(`ok - ${name} (${Date.now() - started} ms)`);
	} catch (error) {
		failed += 1;
		console.log(
			`not ok - ${name}\n  ${String(error?.stack ?? error)
				.split("\n")
				.slice(0, 6)
				.join("\n  ")}`,
		);
		await screenshot(`failed-${name.replace(/\W+/g, "-")}`);
	}
}

/** The card of a task by its action, newest first (the gallery's order). */
const card = (action) => page.locator(`.card[data-action="${action}"]`).first();

async function waitForSuccess(locator) {
	await locator.locator("xpath=self::*[@data-status='SUCCESS']").waitFor({ timeout: STEP_TIMEOUT });
	await locator.locator("img, video").first().waitFor({ timeout: STEP_TIMEOUT });
	await page.waitForFunction(
		(element) => {
			const media = element.querySelector(".media img, .media video");
			return media instanceof HTMLImageElement ? media.complete && media.naturalWidth > 0 : media !== null;
		},
		await locator.elementHandle(),
		{ timeout: STEP_TIMEOUT },
	);
}

/** The page is no wider than its window (at 390 px: no sideways scrolling). */
async function noOverflow(p = page) {
	const { scroll, inner, path } = await p.evaluate(() => ({
		scroll: document.documentElement.scrollWidth,
		inner: innerWidth,
		path: location.hash,
	}));
	assert(scroll <= inner, `${path || "/"} is ${scroll - inner} px wider than the ${inner} px window`);
}

/** The header fits: "mj-edge" on one line, the quota on screen. */
async function headerFits(p = page) {
	const r = await p.evaluate(() => {
		const brand = document.querySelector(".brand");
		const range = document.createRange();
		range.selectNodeContents(brand);
		const quota = document.querySelector("[data-field=header-quota]")?.getBoundingClientRect();
		return {
			lines: new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size,
			quota: Boolean(quota && quota.width > 0 && quota.left >= 0 && quota.right <= innerWidth),
		};
	});
	assert(r.lines === 1, `"mj-edge" wraps onto ${r.lines} lines`);
	assert(r.quota, "the quota is not visible in the header");
}

/** Switches the console to `want` ("en" or "zh") with the header's button. */
async function language(want, p = page) {
	const current = await p.evaluate(() => document.documentElement.lang);
	if (current.startsWith(want)) return;
	await p.click("[data-action=language]");
	await p.waitForFunction((w) => document.documentElement.lang.startsWith(w), want);
}

/** A card's buttons sit in a grid inside the card: equal widths, several rows, none past its edge. */
async function buttonsInRows(locator, expected) {
	const r = await locator.evaluate((card) => {
		const box = card.getBoundingClientRect();
		const rects = [...card.querySelectorAll(".buttons button")].map((b) => b.getBoundingClientRect());
		const widths = rects.map((b) => b.width);
		return {
			n: rects.length,
			rows: new Set(rects.map((b) => Math.round(b.top))).size,
			inside: rects.every((b) => b.left >= box.left - 0.5 && b.right <= box.right + 0.5),
			spread: Math.max(...widths) - Math.min(...widths),
		};
	});
	assert(r.n === expected, `expected ${expected} buttons, saw ${r.n}`);
	assert(r.rows > 1 && r.inside && r.spread < 1, `the buttons are not laid out in rows: ${JSON.stringify(r)}`);
}

/** True when the element's box overlaps the window. */
const inView = (locator) =>
	locator.evaluate((element) => {
		const rect = element.getBoundingClientRect();
		return rect.bottom > 0 && rect.top < innerHeight && rect.height > 0;
	});

const runId = Date.now().toString(36);
const userSub = `browser-user-${runId}`;
const adminSub = `browser-admin-${runId}`;
let userKey;
let adminKey;

try {
	await step("the gateway starts and serves the console at /", async () => {
		gateway = await useGateway("browser-test");
		base = gateway.base;
		const response = await fetch(`${base}/`);
		const html = await response.text();
		assert(response.ok && html.includes("/app/console.js"), `GET / is not the console: ${response.status}`);
		const missing = await fetch(`${base}/api/v1/no-such-route`, { headers: { authorization: "Bearer x" } });
		assert(missing.status !== 200, "an unknown API path answered 200");
	});

	await step("the first admin's key from npm run admin:create (the README's command), and a user's key", async () => {
		// The command as the README gives it, against the running gateway's fresh local database.
		const created = await new Promise((done, fail) =>
			execFile(
				"npm",
				["run", "--silent", "admin:create", "--", "--sub", adminSub, "--local", "--persist-to", gateway.state],
				{ env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, timeout: 120_000 },
				(error, stdout, stderr) => (error ? fail(new Error(`${error.message}\n${stderr}`)) : done(stdout)),
			),
		);
		adminKey = created.trim();
		assert(/^mjk_[A-Za-z0-9_-]{43}$/.test(adminKey), `admin:create printed more than a key: ${created}`);
		const me = await api(adminKey, "GET", `/api/admin/users/${adminSub}`);
		assert(me.role === "admin", `the first admin is not an admin: ${JSON.stringify(me)}`);
		userKey = (await api(await token(userSub), "POST", "/api/user/keys", { name: "browser" })).key;
		assert(userKey?.startsWith("mjk_"), "no user key");
	});

	browser = await chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: [
			"--headless",
			"--no-sandbox",
			"--disable-gpu",
			"--disable-quic",
			"--no-first-run",
			"--disable-background-networking",
			"--disable-component-update",
			"--disable-sync",
		],
	});
	const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US" });
	// Every Content-Security-Policy violation on any page of this context, reported to the test.
	const violations = [];
	await context.exposeBinding("__reportViolation", (_source, text) => violations.push(text));
	await context.addInitScript(() =>
		document.addEventListener("securitypolicyviolation", (event) =>
			window.__reportViolation(
				`${event.violatedDirective} blocked ${event.blockedURI} at ${event.sourceFile}:${event.lineNumber}`,
			),
		),
	);
	page = await context.newPage();
	page.setDefaultTimeout(STEP_TIMEOUT);
	page.on("dialog", (dialog) => dialog.accept());
	const pageErrors = [];
	page.on("pageerror", (error) => pageErrors.push(String(error)));

	await step("the console and /docs send their security headers", async () => {
		for (const path of ["/", "/docs"]) {
			const response = await fetch(`${base}${path}`);
			await response.body?.cancel();
			const csp = response.headers.get("content-security-policy") ?? "";
			assert(/default-src 'none'/.test(csp) && /frame-ancestors 'none'/.test(csp), `${path} CSP: ${csp}`);
			assert(
				!/'unsafe-eval'/.test(csp) && !/script-src[^;]*'unsafe-inline'/.test(csp),
				`${path} allows script: ${csp}`,
			);
			assert(response.headers.get("x-content-type-options") === "nosniff", `${path} without nosniff`);
			assert(response.headers.get("referrer-policy") === "no-referrer", `${path} without a referrer policy`);
		}
	});

	await step("/docs renders under its CSP, and its client sends a request", async () => {
		const docs = await context.newPage();
		docs.setDefaultTimeout(STEP_TIMEOUT);
		const errors = [];
		docs.on("pageerror", (error) => errors.push(String(error)));
		const before = violations.length;
		await docs.goto(`${base}/docs`);
		await docs.getByText("Seed 002: /api/v1").first().waitFor();
		await docs.getByText("One task by its _id").first().click();
		await docs
			.getByRole("button", { name: /Test Request/ })
			.first()
			.click();
		const sent = docs.waitForResponse((response) => response.url().includes("/api/v1/"));
		await docs.getByRole("button", { name: /Send/ }).last().click();
		assert((await sent).status() === 401, "the docs client's request did not reach the API");
		shot += 1;
		await docs.screenshot({ path: resolve(SHOTS, `${String(shot).padStart(2, "0")}-docs.png`) }).catch(() => undefined);
		await docs.close();
		// Zod, inside Scalar's bundle, probes `Function("")` once and falls back when it is refused.
		const unexpected = violations.slice(before).filter((text) => !/^script-src(-elem)? blocked eval /.test(text));
		assert(unexpected.length === 0, `CSP violations on /docs:\n${unexpected.join("\n")}`);
		assert(errors.length === 0, `script errors on /docs:\n${errors.join("\n")}`);
		violations.length = before;
	});

	await step("a wrong key is refused with a message a person understands", async () => {
		await page.goto(`${base}/`);
		await page.fill("input[name=credential]", "mjk_not-a-real-key");
		await page.click("button[type=submit]");
		await page.getByRole("alert").waitFor();
		const text = await page.getByRole("alert").innerText();
		assert(/not accepted/i.test(text), `unexpected error text: ${text}`);
		// The gateway's own reason, in the user's language.
		assert(text.includes("this API key does not exist or was revoked"), `no server reason: ${text}`);
		assert((await page.evaluate(() => localStorage.getItem("mj-edge.credential"))) === null, "a refused key was kept");
		await screenshot("sign-in-refused");
		await language("zh");
		await page.click("button[type=submit]");
		await page.getByRole("alert").filter({ hasText: "此 API 密钥不存在或已被吊销" }).waitFor();
		assert((await page.getByRole("alert").innerText()).includes("密钥或令牌无效"), "the refusal is not in 中文");
		await screenshot("sign-in-refused-zh");
		await language("en");
	});

	await step("sign in with an API key", async () => {
		await page.fill("input[name=credential]", userKey);
		await page.click("button[type=submit]");
		await page.locator(".who").waitFor();
		assert((await page.locator(".who").innerText()).includes(userSub), "the header does not show the user");
		assert((await page.evaluate(() => localStorage.getItem("mj-edge.credential"))) === userKey, "key not kept");
		await page.getByRole("heading", { name: "Your tasks" }).waitFor();
	});

	await step("imagine: the card's progress moves to SUCCESS without a reload", async () => {
		// Marks this document and records every progress value the new card shows.
		await page.evaluate(() => {
			window.__sameDocument = true;
			window.__progress = [];
			window.__spinner = false;
			new MutationObserver(() => {
				const unfinished = document.querySelector('.card[data-action="IMAGINE"]:not([data-status=SUCCESS])');
				// An unfinished card shows a spinner and its progress, not the action's name as a link.
				if (unfinished?.querySelector("[data-testid=working] .spinner") && /\d+%/.test(unfinished.innerText))
					window.__spinner = true;
				const bar = document.querySelector('.card[data-action="IMAGINE"] [role=progressbar]');
				const value = bar?.getAttribute("aria-valuenow");
				if (value !== undefined && value !== null && window.__progress.at(-1) !== value) window.__progress.push(value);
			}).observe(document.body, { subtree: true, childList: true, attributes: true });
		});
		// No prompt: an error (not a green notice); it goes when the tab changes.
		await page.click("form button[type=submit]");
		await page.getByRole("alert").filter({ hasText: "Write a prompt" }).waitFor();
		assert((await page.locator(".notice").count()) === 0, "the missing prompt shows as a success");
		await page.getByRole("tab", { name: "Describe" }).click();
		await page.getByRole("alert").waitFor({ state: "detached" });
		await page.getByRole("tab", { name: "Imagine" }).click();
		// The prompt's length against the limit, and a prompt over it refused before it is sent.
		await page.fill("textarea[name=prompt]", "x".repeat(4001));
		await page.getByTestId("prompt-length").filter({ hasText: "4,001 / 4,000" }).waitFor();
		await page.click("form button[type=submit]");
		await page.getByRole("alert").filter({ hasText: "longer than 4000" }).waitFor();
		await page.fill("textarea[name=prompt]", "a red fox in the snow");
		await page.getByTestId("prompt-length").filter({ hasText: "21 / 4,000" }).waitFor();
		await page.selectOption("select[name=mode]", "relax");
		await page.click("form button[type=submit]");
		const fox = card("IMAGINE");
		await fox.waitFor();
		assert((await fox.getAttribute("data-status")) !== "SUCCESS", "the new card was finished at once");
		await waitForSuccess(fox);
		const seen = (await page.evaluate(() => window.__progress)).map(Number);
		assert(
			seen.some((value) => value > 0 && value < 100),
			`no progress in between: ${seen.join(",")}`,
		);
		assert(seen.at(-1) === 100, `progress did not end at 100: ${seen.join(",")}`);
		assert(await page.evaluate(() => window.__spinner), "the unfinished card showed no spinner with its progress");
		assert(await page.evaluate(() => window.__sameDocument === true), "the page was reloaded");
		assert((await fox.locator(".prompt").innerText()).includes("a red fox"), "the card shows another prompt");
		const balance = (await api(userKey, "GET", "/api/user/self")).quota;
		await page.locator("[data-field=header-quota]", { hasText: String(balance) }).waitFor();
		const mode = await page.evaluate(async () => {
			const id = document.querySelector('.card[data-action="IMAGINE"]').getAttribute("data-task-id");
			const response = await fetch(`/mj/task/${id}/fetch`, {
				headers: { authorization: `Bearer ${localStorage.getItem("mj-edge.credential")}` },
			});
			return (await response.json()).mode;
		});
		assert(mode === "relax", `the speed mode was not sent: ${mode}`);
		await screenshot("studio-imagine-done");
	});

	await step("U1 starts an upscale that arrives in the gallery", async () => {
		await card("IMAGINE").locator('button[data-custom-id*="upsample::1"]').click();
		const upscale = card("UPSCALE");
		await upscale.waitFor();
		await waitForSuccess(upscale);
		await buttonsInRows(upscale, 14);
	});

	await step("390 px: the header fits; a button pressed far down brings its result into view", async () => {
		await page.setViewportSize({ width: 390, height: 844 });
		await headerFits();
		await noOverflow();
		await buttonsInRows(card("UPSCALE"), 14);
		// The grid's V1, at the bottom of the gallery: the new card is first in the gallery, far above.
		const v1 = card("IMAGINE").locator('button[data-custom-id*="variation::1"]');
		await page.evaluate(() => scrollTo(0, document.documentElement.scrollHeight));
		assert(await inView(v1), "the grid's V1 is not in view at the bottom");
		const top = await page
			.locator(".grid .card")
			.first()
			.evaluate((e) => e.getBoundingClientRect().top);
		assert(top < 0, `the top of the gallery is in view (${top}): nothing to bring into view`);
		await v1.click();
		const variation = card("VARIATION");
		await variation.waitFor();
		await page.waitForFunction(() => {
			const element = document.querySelector('.card[data-action="VARIATION"]');
			const rect = element?.getBoundingClientRect();
			return rect && rect.top < innerHeight && rect.bottom > 0;
		});
		assert(await variation.evaluate((e) => e.classList.contains("fresh")), "the new card is not marked as new");
		await screenshot("button-result-in-view-390");
		await waitForSuccess(variation);
		await page.setViewportSize({ width: 1280, height: 900 });
	});

	await step("vary region: paint a mask on the picture and submit it", async () => {
		const requests = [];
		page.on("request", (request) => {
			if (request.url().endsWith("/mj/submit/modal")) requests.push(request.postDataJSON());
		});
		await card("UPSCALE").locator('button[data-custom-id*="Inpaint"]').click();
		const dialog = page.getByRole("dialog");
		await dialog.waitFor();
		// Closed without sending: the charged task waits in MODAL, says so, and its card reopens the painter.
		await dialog.getByRole("button", { name: "Close" }).click();
		await dialog.waitFor({ state: "detached" });
		const waiting = card("INPAINT");
		await waiting.locator("xpath=self::*[@data-status='MODAL']").waitFor();
		assert(/refunded/.test(await waiting.locator(".modal-wait").innerText()), "the card does not say it is refunded");
		await screenshot("vary-region-waiting");
		await waiting.getByRole("button", { name: "Continue" }).click();
		await dialog.waitFor();
		await page.waitForFunction(() => (document.querySelector(".mask-stack img")?.naturalWidth ?? 0) > 0);
		const canvas = dialog.locator("canvas.mask");
		const box = await canvas.boundingBox();
		await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.3);
		await page.mouse.down();
		await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5, { steps: 8 });
		await page.mouse.up();
		await screenshot("vary-region-mask");
		await dialog.locator("input[name=modal-prompt]").fill("a red fox wearing a hat");
		await dialog.locator("button[type=submit]").click();
		await dialog.waitFor({ state: "detached" });
		assert(requests.length === 1, `expected one modal submit, saw ${requests.length}`);
		const { maskBase64, prompt, taskId } = requests[0];
		assert(prompt === "a red fox wearing a hat" && taskId, "the modal submit lacks its prompt or task");
		// The mask is a PNG at the picture's size: white where painted, black elsewhere.
		const mask = await page.evaluate(async (url) => {
			const image = new Image();
			image.src = url;
			await image.decode();
			const canvas = document.createElement("canvas");
			canvas.width = image.width;
			canvas.height = image.height;
			const context = canvas.getContext("2d");
			context.drawImage(image, 0, 0);
			const { data } = context.getImageData(0, 0, image.width, image.height);
			let white = 0;
			let black = 0;
			for (let i = 0; i < data.length; i += 4) {
				if (data[i] > 250 && data[i + 1] > 250 && data[i + 2] > 250) white++;
				else if (data[i] < 5 && data[i + 1] < 5 && data[i + 2] < 5) black++;
			}
			return { white, black, total: data.length / 4, width: image.width };
		}, maskBase64);
		assert(maskBase64.startsWith("data:image/png;base64,"), "the mask is not a PNG data URL");
		assert(mask.white > 0 && mask.black > mask.white, `mask not white on black: ${JSON.stringify(mask)}`);
		const inpaint = card("INPAINT");
		await inpaint.waitFor();
		await waitForSuccess(inpaint);
		await screenshot("studio-after-inpaint");
	});

	await step("custom zoom asks for its prompt; animate gives a video card", async () => {
		const requests = [];
		const listen = (request) => {
			if (request.url().endsWith("/mj/submit/modal")) requests.push(request.postDataJSON());
		};
		page.on("request", listen);
		await card("UPSCALE").locator('button[data-custom-id*="CustomZoom"]').click();
		const dialog = page.getByRole("dialog", { name: "Custom zoom" });
		await dialog.waitFor();
		assert((await dialog.locator("canvas").count()) === 0, "custom zoom shows a mask painter");
		await dialog.locator("input[name=modal-prompt]").fill("a red fox --zoom 1.6");
		await dialog.locator("button[type=submit]").click();
		await dialog.waitFor({ state: "detached" });
		page.off("request", listen);
		assert(requests.length === 1 && requests[0].prompt === "a red fox --zoom 1.6", "the zoom prompt was not sent");
		assert(requests[0].maskBase64 === undefined, "custom zoom sent a mask");
		await waitForSuccess(card("CUSTOM_ZOOM"));

		await card("UPSCALE").locator('button[data-custom-id*="animate_low"]').click();
		const video = card("VIDEO");
		await video.waitFor();
		await waitForSuccess(video);
		await video.locator(".media video").waitFor();
		await page.waitForFunction(
			() => (document.querySelector('.card[data-action="VIDEO"] video')?.readyState ?? 0) >= 1,
			undefined,
			{ timeout: STEP_TIMEOUT },
		);
	});

	await step("describe a dropped picture and blend two chosen ones", async () => {
		// A real PNG: the gateway's copy of the imagine's grid.
		const src = await card("IMAGINE").locator(".media img").getAttribute("src");
		const png = Buffer.from(await (await fetch(src)).arrayBuffer());
		assert(png.subarray(1, 4).toString() === "PNG", "the grid is not a PNG");

		await page.getByRole("tab", { name: "Describe" }).click();
		// A file that is not a picture is refused before anything is sent.
		await page.setInputFiles("form input[type=file]", [
			{ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not a picture") },
		]);
		await page.getByTestId("drop-refused").filter({ hasText: "notes.txt" }).waitFor();
		assert((await page.locator(".thumbs img").count()) === 0, "a text file was added as a picture");
		// A first picture, then the grid dropped on the one-picture zone replaces it.
		const tiny = Buffer.from(
			"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==",
			"base64",
		);
		await page.setInputFiles("form input[type=file]", [{ name: "tiny.png", mimeType: "image/png", buffer: tiny }]);
		await page.locator(".thumbs img").first().waitFor();
		// Drag and drop: a drop event carrying the file, as a browser sends it.
		await page.evaluate((base64) => {
			const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
			const transfer = new DataTransfer();
			transfer.items.add(new File([bytes], "grid.png", { type: "image/png" }));
			const zone = document.querySelector(".drop");
			zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
			zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
		}, png.toString("base64"));
		await page.waitForFunction((size) => {
			const thumbs = document.querySelectorAll(".thumbs img");
			return thumbs.length === 1 && thumbs[0].src.length > size;
		}, tiny.length * 2);
		await page.click("form button[type=submit]");
		const describe = card("DESCRIBE");
		await describe.waitFor();
		await describe.locator("xpath=self::*[@data-status='SUCCESS']").waitFor();
		assert((await describe.locator(".result").innerText()).trim().length > 0, "the describe card shows no prompts");

		await page.getByRole("tab", { name: "Blend" }).click();
		await page.click("form button[type=submit]");
		await page.getByRole("alert").filter({ hasText: "at least 2" }).waitFor();
		await page.setInputFiles("form input[type=file]", [
			{ name: "a.png", mimeType: "image/png", buffer: png },
			{ name: "b.png", mimeType: "image/png", buffer: png },
		]);
		await page.locator(".thumbs img").nth(1).waitFor();
		await page.click("form button[type=submit]");
		const blend = card("BLEND");
		await blend.waitFor();
		await waitForSuccess(blend);
		await page.getByRole("tab", { name: "Imagine" }).click();
		await screenshot("studio-describe-blend");
	});

	await step("switch language to 中文 and back; the choice survives a reload", async () => {
		await page.click("[data-action=language]");
		await page.getByRole("heading", { name: "我的任务" }).waitFor();
		await page.reload();
		await page.getByRole("heading", { name: "我的任务" }).waitFor();
		await screenshot("studio-zh");
		await page.click("[data-action=language]");
		await page.getByRole("heading", { name: "Your tasks" }).waitFor();
	});

	await step("task detail: every field, the prompt as run, times", async () => {
		await card("INPAINT").getByRole("link", { name: "Details" }).click();
		const detail = page.locator(".detail");
		await detail.waitFor();
		const text = await detail.innerText();
		for (const word of ["INPAINT", "Prompt as run", "Submitted", "Finished", "properties.finalPrompt"])
			assert(text.includes(word), `the detail page lacks ${word}`);
		await screenshot("task-detail");
		await page.getByRole("link", { name: /Back/ }).click();
		await page.getByRole("heading", { name: "Your tasks" }).waitFor();
	});

	await step("account: quota, create a key (shown once, works), revoke it", async () => {
		await page.click('a[href="#/account"]');
		await page.locator("[data-field=quota]").waitFor();
		const self = await api(userKey, "GET", "/api/user/self");
		assert((await page.locator("[data-field=quota]").innerText()) === String(self.quota), "quota differs from the API");
		await page.fill("input[name=key-name]", "from the console");
		await page.getByRole("button", { name: "Create key" }).click();
		const shown = await page.getByTestId("new-key").innerText();
		assert(shown.startsWith("mjk_"), `no key shown: ${shown}`);
		assert((await api(shown, "GET", "/api/user/self")).sub === userSub, "the new key does not work");
		const row = page.locator("tr", { hasText: "from the console" });
		await row.waitFor();
		await screenshot("account");
		// The webhook secret API exists on this gateway: the account page shows its part.
		await page.getByRole("heading", { name: "Webhook secret" }).waitFor();
		await row.getByRole("button", { name: "Revoke" }).click();
		await row.waitFor({ state: "detached" });
		// Nothing left to copy: the copy-once box went with its key.
		await page.getByTestId("new-key").waitFor({ state: "detached" });
		const after = await fetch(`${base}/api/user/self`, { headers: { authorization: `Bearer ${shown}` } });
		assert(after.status === 401, `a revoked key still works: ${after.status}`);
	});

	await step(
		"webhook secret: reveal and rotate the real one; the task page lists a refused hook's real attempts, redeliver",
		async () => {
			const panel = page.locator(".panel", { has: page.getByRole("heading", { name: "Webhook secret" }) });
			await panel.getByRole("button", { name: "Reveal" }).click();
			const first = (await api(userKey, "GET", "/api/user/webhook-secret")).secret;
			assert(first.startsWith("whsec_"), `not a webhook secret: ${first}`);
			await panel.getByTestId("webhook-secret").filter({ hasText: first }).waitFor();
			await panel.getByRole("button", { name: "Rotate" }).click();
			await panel.getByTestId("webhook-secret").filter({ hasNotText: first }).filter({ hasText: "whsec_" }).waitFor();
			const second = (await api(userKey, "GET", "/api/user/webhook-secret")).secret;
			assert(second !== first, "the secret was not rotated");
			assert((await panel.getByTestId("webhook-secret").innerText()) === second, "the console shows another secret");
			// Reveal toggles: Hide masks it again.
			await panel.getByRole("button", { name: "Hide" }).click();
			await panel.getByTestId("webhook-secret").filter({ hasNotText: "whsec_" }).waitFor();
			await panel.getByRole("button", { name: "Reveal" }).waitFor();

			// A task whose notifyHook refuses every delivery with 500; the receiver records each attempt's webhook-id.
			const received = [];
			const hook = `http://127.0.0.1:${hooks.address().port}/hook`;
			hooks.on("request", (request, response) => {
				received.push(request.headers["webhook-id"]);
				request.resume();
				response.writeHead(500).end("refused");
			});
			const submitted = await fetch(`${base}/mj/submit/imagine`, {
				method: "POST",
				headers: { "mj-api-secret": userKey, "content-type": "application/json" },
				// The end only: one event, so the first row and the first attempt are the same event.
				body: JSON.stringify({ prompt: "a hooked fox", notifyHook: hook, notifyHookEvents: "final" }),
			});
			const taskId = (await submitted.json()).result;
			assert(taskId, `no task: ${submitted.status}`);
			const deadline = Date.now() + STEP_TIMEOUT;
			// The first attempt is in the real log before the page reads it.
			const logged = async (match) => {
				while (Date.now() < deadline + STEP_TIMEOUT) {
					const found = (await api(userKey, "GET", `/api/user/deliveries?task_id=${taskId}`)).items.find(match);
					if (found) return found;
					await new Promise((done) => setTimeout(done, 200));
				}
			};
			assert(await logged(() => true), "no delivery attempt was logged");
			assert(received.length > 0 && received[0], "the hook was never called");
			await page.goto(`${base}/#/task/${taskId}`);
			// The delivery log's rows (the field table above shows the hook URL too).
			const rows = page.locator("tr", { hasText: hook, has: page.getByRole("button", { name: "Redeliver" }) });
			await rows.first().waitFor();
			assert((await rows.first().innerText()).includes("500"), "the delivery row lacks its HTTP status");
			await screenshot("task-deliveries");
			await rows.first().getByRole("button", { name: "Redeliver" }).click();
			await page.getByRole("button", { name: "Queued again" }).waitFor();
			// The manual attempt is in the real log, and the receiver saw it.
			const manual = await logged((row) => row.manual);
			assert(manual, "the redelivery is not in the delivery log");
			assert(manual.http_status === 500 && manual.url === hook, `the manual attempt: ${JSON.stringify(manual)}`);
			assert(received.at(-1) === received[0], `a redelivery carries another webhook-id: ${received}`);
			await page.goto(`${base}/#/`);
		},
	);

	await step(
		"every console fix in English and 中文 at 1280 and 390 px: labels, statuses, dates, header, layout, errors, a waiting modal",
		async () => {
			const before = (await api(userKey, "GET", "/api/user/self")).quota;
			await page.goto(`${base}/#/`);
			// A vary region left unsent: charged, waiting in MODAL.
			await card("UPSCALE").locator('button[data-custom-id*="Inpaint"]').click();
			await page.getByRole("dialog").getByRole("button", { name: "Close" }).click();
			await page.locator('.card[data-status="MODAL"]').first().waitFor();
			const waitingId = await page.locator('.card[data-status="MODAL"]').first().getAttribute("data-task-id");
			const waiting = page.locator(`.card[data-task-id="${waitingId}"]`);
			const charged = before - (await api(userKey, "GET", "/api/user/self")).quota;
			assert(charged > 0, "the modal step was not charged");
			const words = {
				en: {
					gallery: "Your tasks",
					needPrompt: "Write a prompt",
					counter: "0 / 4,000 characters",
					waiting: "refunded",
					continue: "Continue",
					dialog: "Vary region",
					upscale: "Upscale",
					done: "Done",
					noTask: "There is no task",
					back: "Back",
					date: /[A-Z][a-z]{2} \d{1,2}, \d{4}/,
					account: ["Prefix", "Reveal", "user"],
				},
				zh: {
					gallery: "我的任务",
					needPrompt: "请输入提示词",
					counter: "0 / 4,000 字符",
					waiting: "退还额度",
					continue: "继续",
					dialog: "局部重绘",
					upscale: "放大",
					done: "完成",
					noTask: "这里没有任务",
					back: "返回",
					date: /\d{4}年\d{1,2}月\d{1,2}日/,
					account: ["前缀", "显示", "用户"],
				},
			};
			// English words a 中文 page must not show (labels, statuses, actions).
			// (Not the pictures' own buttons: their labels come from Midjourney.)
			const ENGLISH = [
				"Your tasks",
				"Submit",
				"Done",
				"Needs input",
				"Continue",
				"Details",
				"Prefix",
				"Reveal",
				"Quota",
			];
			try {
				for (const [lang, width] of [
					["en", 1280],
					["zh", 1280],
					["zh", 390],
					["en", 390],
				]) {
					const w = words[lang];
					await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
					await page.goto(`${base}/#/`);
					await language(lang);
					await page.getByRole("heading", { name: w.gallery }).waitFor();
					await headerFits();
					await noOverflow();
					await page.getByTestId("prompt-length").filter({ hasText: w.counter }).waitFor();
					// The missing prompt is an error in this language, and clears when the tab changes.
					await page.click("form button[type=submit]");
					await page.getByRole("alert").filter({ hasText: w.needPrompt }).waitFor();
					await page.getByRole("tab").nth(1).click();
					await page.getByRole("alert").waitFor({ state: "detached" });
					await page.getByRole("tab").first().click();
					// The waiting modal says it will be refunded, and reopens.
					assert((await waiting.locator(".modal-wait").innerText()).includes(w.waiting), `${lang}: no refund note`);
					await waiting.getByRole("button", { name: w.continue }).click();
					const dialog = page.getByRole("dialog", { name: w.dialog });
					await dialog.waitFor();
					await page.waitForFunction(() => (document.querySelector(".mask-stack img")?.naturalWidth ?? 0) > 0);
					await noOverflow();
					await screenshot(`modal-reopened-${lang}-${width}`);
					await dialog.getByRole("button", { name: lang === "zh" ? "关闭" : "Close" }).click();
					await dialog.waitFor({ state: "detached" });
					// Cards: action and status in this language, the upscale's buttons in rows.
					const upscale = card("UPSCALE");
					assert((await upscale.locator(".action").innerText()) === w.upscale, `${lang}: the action is not translated`);
					assert((await upscale.locator(".badge").innerText()) === w.done, `${lang}: the status is not translated`);
					await buttonsInRows(upscale, 14);
					await noOverflow();
					if (lang === "zh") {
						const text = await page.locator("main").innerText();
						const left = ENGLISH.filter((word) => text.includes(word));
						assert(left.length === 0, `English on the 中文 studio: ${left.join(", ")}`);
					}
					await screenshot(`studio-${lang}-${width}`);
					// A task's dates in the user's locale.
					await page.goto(`${base}/#/task/${await card("INPAINT").getAttribute("data-task-id")}`);
					const submitted = await page.locator("dl.times dd").first().innerText();
					assert(w.date.test(submitted), `${lang}: the date is not in the locale: ${submitted}`);
					await noOverflow();
					await screenshot(`task-detail-${lang}-${width}`);
					// An unknown task page says so and links back.
					await page.goto(`${base}/#/task/no-such-task-${runId}`);
					await page.getByTestId("no-such-task").filter({ hasText: w.noTask }).waitFor();
					await noOverflow();
					await screenshot(`unknown-task-${lang}-${width}`);
					await page.getByRole("link", { name: w.back }).click();
					await page.getByRole("heading", { name: w.gallery }).waitFor();
					// The account page fits and speaks this language.
					await page.click('a[href="#/account"]');
					await page.locator("[data-field=quota]").waitFor();
					await page.getByRole("heading", { name: lang === "zh" ? "回调密钥" : "Webhook secret" }).waitFor();
					const account = await page.locator("main").innerText();
					for (const word of w.account) assert(account.includes(word), `${lang}: the account page lacks ${word}`);
					assert(w.date.test(account), `${lang}: the account's dates are not in the locale`);
					if (lang === "zh") {
						const left = ENGLISH.filter((word) => account.includes(word));
						assert(left.length === 0, `English on the 中文 account page: ${left.join(", ")}`);
					}
					await headerFits();
					await noOverflow();
					await screenshot(`account-${lang}-${width}`);
				}
			} finally {
				// A failure here must not leave the next steps in 中文 at 390 px.
				await page.setViewportSize({ width: 1280, height: 900 });
				await language("en").catch(() => undefined);
			}
			// Cancelled from its card, the waiting modal is refunded.
			await page.goto(`${base}/#/`);
			await waiting.getByRole("button", { name: "Cancel" }).click();
			await waiting.locator("xpath=self::*[@data-status='CANCEL']").waitFor();
			const deadline = Date.now() + STEP_TIMEOUT;
			while ((await api(userKey, "GET", "/api/user/self")).quota !== before) {
				assert(Date.now() < deadline, "the cancelled modal step was not refunded");
				await new Promise((done) => setTimeout(done, 200));
			}
			// The icon is a static asset under the console's CSP.
			const icon = await fetch(`${base}/app/favicon.svg`);
			assert(icon.ok && /svg/.test(icon.headers.get("content-type") ?? ""), `no favicon: ${icon.status}`);
			await icon.body?.cancel();
			assert(
				(await page.locator('link[rel="icon"]').getAttribute("href")) === "/app/favicon.svg",
				"the page does not name its icon",
			);
		},
	);

	await step("sign out forgets the key", async () => {
		await page.click("[data-action=sign-out]");
		await page.locator("input[name=credential]").waitFor();
		assert((await page.evaluate(() => localStorage.getItem("mj-edge.credential"))) === null, "the key was kept");
		await page.reload();
		await page.locator("input[name=credential]").waitFor();
	});

	await step("admin: disable and re-enable a channel", async () => {
		await page.fill("input[name=credential]", adminKey);
		await page.click("button[type=submit]");
		await page.click('a[href="#/admin"]');
		const row = page.locator('tr[data-channel="simulator"]');
		await row.waitFor();
		await row.getByRole("button", { name: "Disable" }).click();
		await row.locator("[data-field=disabled-reason]").waitFor();
		const channels = await api(adminKey, "GET", "/api/admin/channels");
		const simulator = channels.find((channel) => channel.name === "simulator");
		assert(simulator && simulator.enabled === false, "the channel is still enabled");
		// npm start also runs a Discord account on the fake Discord: off too, so no channel is left.
		const others = channels.filter((channel) => channel.name !== "simulator" && channel.enabled);
		for (const channel of others) await api(adminKey, "PATCH", `/api/admin/channels/${channel.id}`, { enabled: false });
		await screenshot("admin-channel-disabled");
		// Meanwhile a user's submit is refused with the gateway's reason, in English and 中文.
		const other = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "en-US" });
		await other.addInitScript((key) => localStorage.setItem("mj-edge.credential", key), userKey);
		const userPage = await other.newPage();
		userPage.setDefaultTimeout(STEP_TIMEOUT);
		userPage.on("pageerror", (error) => pageErrors.push(String(error)));
		await userPage.goto(`${base}/`);
		for (const [lang, reason] of [
			["en", "no upstream channel is available"],
			["zh", "没有可用的上游渠道"],
		]) {
			await language(lang, userPage);
			await userPage.fill("textarea[name=prompt]", "a fox with nowhere to go");
			await userPage.click("form button[type=submit]");
			await userPage.getByRole("alert").filter({ hasText: reason }).waitFor();
			shot += 1;
			await userPage
				.screenshot({ path: resolve(SHOTS, `${String(shot).padStart(2, "0")}-no-channel-${lang}-390.png`) })
				.catch(() => undefined);
		}
		await other.close();
		await row.getByRole("button", { name: "Enable" }).click();
		await row.getByRole("button", { name: "Disable" }).waitFor();
		const again = (await api(adminKey, "GET", "/api/admin/channels")).find((channel) => channel.name === "simulator");
		assert(again.enabled === true, "the channel was not re-enabled");
		for (const channel of others) await api(adminKey, "PATCH", `/api/admin/channels/${channel.id}`, { enabled: true });
	});

	await step("admin: edit a Discord account's settings (English and 中文); the row shows them applied", async () => {
		const row = page.locator('tr[data-channel="fake-discord"]');
		await row.waitFor();
		const details = row.locator("details.discord-settings");
		await details.locator("summary", { hasText: "Account settings" }).click();
		const form = details.locator("form");
		assert((await form.locator("input[name=concurrency]").inputValue()) === "3", "the form does not show the setting");
		await form.locator("input[name=concurrency]").fill("5");
		await form.locator("select[name=mode]").selectOption("relax");
		await form.locator("input[name=dm_channel_id]").fill("1000000000000000003");
		await form.getByRole("button", { name: "Save settings" }).click();
		await row.locator("[data-field=load]", { hasText: "at most 5 / 10" }).waitFor();
		let fake = (await api(adminKey, "GET", "/api/admin/channels")).find((c) => c.name === "fake-discord");
		assert(
			fake.discord.concurrency === 5 &&
				fake.discord.mode === "relax" &&
				fake.discord.queue_size === 10 &&
				fake.discord.dm_channel_id === "1000000000000000003",
			`not applied: ${JSON.stringify(fake.discord)}`,
		);
		await screenshot("admin-discord-settings");
		// A value the gateway refuses says why, in the row, and changes nothing.
		await form.locator("input[name=api_base]").fill("ftp://example.com");
		await form.evaluate((f) => {
			f.noValidate = true;
		});
		await form.getByRole("button", { name: "Save settings" }).click();
		await form.getByRole("alert").filter({ hasText: "discord.api_base" }).waitFor();
		await form.locator("input[name=api_base]").fill(fake.discord.api_base);
		await language("zh");
		await details.locator("summary", { hasText: "账号设置" }).waitFor();
		await form.locator("input[name=queue_size]").fill("12");
		await form.getByLabel("描述时上传图片").check();
		await form.getByRole("button", { name: "保存设置" }).click();
		await row.locator("[data-field=load]", { hasText: "最多 5 / 12" }).waitFor();
		await screenshot("admin-discord-settings-zh");
		// Saved for good: a reload shows the stored values.
		await page.reload();
		await row.locator("details.discord-settings summary").click();
		assert((await form.locator("input[name=queue_size]").inputValue()) === "12", "the saved queue size is not shown");
		assert((await form.locator("select[name=mode]").inputValue()) === "relax", "the saved mode is not shown");
		assert(await form.locator("input[name=describe_by_upload]").isChecked(), "describe by upload is not shown on");
		fake = (await api(adminKey, "GET", "/api/admin/channels")).find((c) => c.name === "fake-discord");
		assert(
			fake.discord.queue_size === 12 &&
				fake.discord.describe_by_upload === true &&
				fake.discord.api_base !== "ftp://example.com",
			JSON.stringify(fake.discord),
		);
		await row.locator("details.discord-settings summary").click();
		await language("en");
		// Back as npm start made it (fast runs as an unset mode does), for the steps that follow.
		await api(adminKey, "PATCH", `/api/admin/channels/${fake.id}`, {
			discord: { concurrency: 3, queue_size: 10, mode: "fast", describe_by_upload: false, dm_channel_id: "" },
		});
	});

	await step("admin: ban a phrase; a prompt with it is refused and counted; remove it", async () => {
		const panel = page.locator("section.banned-words");
		await panel.locator("input[name=banned-word]").fill("  Purple   DRAGON ");
		await panel.getByRole("button", { name: "Ban" }).click();
		const row = panel.locator('tr[data-banned-word="purple dragon"]');
		await row.waitFor();
		const refused = await fetch(`${base}/mj/submit/imagine`, {
			method: "POST",
			headers: { "mj-api-secret": userKey, "content-type": "application/json" },
			body: JSON.stringify({ prompt: "a Purple dragon" }),
		}).then((response) => response.json());
		assert(refused.code === 24 && refused.properties?.bannedWord === "purple dragon", JSON.stringify(refused));
		await page.reload();
		await row.locator("[data-field=hits]", { hasText: "1" }).waitFor();
		await screenshot("admin-banned-words");
		await row.getByRole("button", { name: "Remove" }).click();
		await row.waitFor({ state: "detached" });
		const words = await api(adminKey, "GET", "/api/admin/banned-words");
		assert(!words.some((w) => w.word === "purple dragon"), "the word is still banned");
	});

	await step("admin: find a user by sub, open it and grant quota", async () => {
		const before = (await api(adminKey, "GET", `/api/admin/users/${userSub}`)).quota;
		const users = page.locator("section[data-section=users]");
		await users.locator("input[name=q]").fill(userSub);
		await users
			.locator("form", { has: page.locator("input[name=q]") })
			.locator("button[type=submit]")
			.click();
		await users.locator("[data-testid=user-list] button.link", { hasText: userSub }).click();
		await page.locator("[data-field=user-quota]").waitFor();
		assert((await page.locator("[data-field=user-quota]").innerText()) === String(before), "shown quota differs");
		await page.fill("input[name=amount]", "2500");
		await page.getByRole("button", { name: "Grant" }).click();
		await page.locator("[data-field=user-quota]", { hasText: String(before + 2500) }).waitFor();
		assert((await api(adminKey, "GET", `/api/admin/users/${userSub}`)).quota === before + 2500, "quota not granted");
		await screenshot("admin-users");
	});

	await step(
		"admin users in English and 中文 at 1280 and 390 px: search, order, create with a role and quota, a key shown once, disable (running tasks cancelled or left to finish), enable",
		async () => {
			const users = page.locator("section[data-section=users]");
			const userCard = users.locator("[data-testid=user-card]");
			const listed = users.locator("[data-testid=user-list] tbody tr");
			const words = {
				en: {
					heading: "Users and quota",
					user: "user",
					admin: "admin",
					active: "Active",
					disabled: "Disabled",
					once: "Copy it now",
					cancelled: "1 task cancelled and refunded.",
					disable: "Disable",
					enable: "Enable",
				},
				zh: {
					heading: "用户与额度",
					user: "用户",
					admin: "管理员",
					active: "正常",
					disabled: "已禁用",
					once: "请立即复制",
					cancelled: "已取消 1 个任务并退还额度。",
					disable: "禁用",
					enable: "启用",
				},
			};
			// English a 中文 users panel must not show, as text, placeholder or label.
			const ENGLISH = [
				"Users and quota",
				"New user",
				"Create user",
				"Starting quota",
				"Subs starting",
				"Newest",
				"Most spent",
				"Filter",
				"Role",
				"Quota",
				"Spent",
				"State",
				"Created",
				"Active",
				"Disabled",
				"Grant",
				"Set balance",
				"Key name",
				"Issue API key",
				"Copy",
				"running tasks",
				"Disable",
				"Enable",
			];
			const panelText = () =>
				users.evaluate((section) =>
					[
						section.textContent,
						...[...section.querySelectorAll("[placeholder], [aria-label]")].map(
							(e) => `${e.getAttribute("placeholder") ?? ""} ${e.getAttribute("aria-label") ?? ""}`,
						),
					].join("\n"),
				);
			/** Nothing of the panel but its tables (which scroll inside it) sticks out of it. */
			const panelFits = () =>
				users.evaluate((section) => {
					const box = section.getBoundingClientRect();
					return [...section.querySelectorAll("input, select, button, .once, dl, p")]
						.filter((e) => !e.closest("table"))
						.filter((e) => e.getBoundingClientRect().right > box.right + 0.5)
						.map((e) => e.getAttribute("name") ?? e.className ?? e.tagName);
				});
			const submit = async (key, prompt) => {
				const answer = await fetch(`${base}/mj/submit/imagine`, {
					method: "POST",
					headers: { "mj-api-secret": key, "content-type": "application/json" },
					body: JSON.stringify({ prompt }),
				}).then((response) => response.json());
				assert(answer.code === 1 && answer.result, `the submit was refused: ${JSON.stringify(answer)}`);
				return answer.result;
			};
			const taskOf = async (sub, id) =>
				(await api(adminKey, "GET", `/api/admin/tasks?user=${sub}`)).items.find((task) => task.mj_id === id);
			async function until(what, check) {
				const deadline = Date.now() + STEP_TIMEOUT * 2;
				for (;;) {
					const value = await check();
					if (value) return value;
					assert(Date.now() < deadline, `timed out waiting for ${what}`);
					await new Promise((done) => setTimeout(done, 250));
				}
			}
			const combinations = [
				// language, width, the new user's role, what disabling does to its running task
				["en", 1280, "user", "cancel"],
				["zh", 1280, "admin", "cancel"],
				["zh", 390, "user", "finish"],
				["en", 390, "admin", "finish"],
			];
			try {
				for (const [lang, width, role, choice] of combinations) {
					const w = words[lang];
					const prefix = `browser-made-${lang}-${width}-`;
					const sub = `${prefix}${runId}`;
					await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
					await page.goto(`${base}/#/admin`);
					await page.reload();
					await language(lang);
					await users.getByRole("heading", { name: w.heading }).waitFor();
					const roles = await users.locator("select[name=new-role] option").allInnerTexts();
					assert(roles.join() === [w.user, w.admin].join(), `${lang}: the role choices read ${roles}`);

					// Create: a role and a starting quota; the card and the newest-first list show it.
					await users.locator("input[name=new-sub]").fill(sub);
					await users.locator("select[name=new-role]").selectOption(role);
					await users.locator("input[name=new-quota]").fill("700");
					await users.locator("[data-testid=new-user] button[type=submit]").click();
					await userCard.locator("dd", { hasText: sub }).waitFor();
					assert((await userCard.locator("[data-field=user-quota]").innerText()) === "700", "starting quota not shown");
					assert((await userCard.locator("[data-field=user-role]").innerText()) === w[role], `${lang}: card role`);
					assert((await userCard.locator("[data-field=user-state]").innerText()) === w.active, `${lang}: card state`);
					const made = await api(adminKey, "GET", `/api/admin/users/${sub}`);
					assert(made.role === role && made.quota === 700, `created as ${JSON.stringify(made)}`);
					await listed.first().filter({ hasText: sub }).waitFor();
					assert(
						(await listed.first().locator("[data-field=role]").innerText()) === w[role],
						`${lang}: the list's role`,
					);

					// Search by prefix: this user alone.
					await users.locator("input[name=q]").fill(prefix);
					await users.locator("input[name=q]").press("Enter");
					await page.waitForFunction((p) => {
						const rows = [...document.querySelectorAll("[data-testid=user-list] tbody tr")];
						return rows.length === 1 && rows[0].querySelector("td")?.textContent?.startsWith(p);
					}, prefix);
					// Most spent first: the API's order, spend never rising.
					await users.locator("input[name=q]").fill("");
					await users.locator("select[name=order]").selectOption("spend");
					const bySpend = (await api(adminKey, "GET", "/api/admin/users?order=spend")).items.map((u) => u.sub);
					await page.waitForFunction(
						(expected) =>
							[...document.querySelectorAll("[data-testid=user-list] tbody tr td:first-child")]
								.map((td) => td.textContent)
								.join() === expected.join(),
						bySpend,
					);
					const spent = (await listed.locator("[data-field=spent]").allInnerTexts()).map(Number);
					assert(
						spent.length > 0 && spent.every((value, i) => i === 0 || value <= spent[i - 1]),
						`${lang}: not ordered by spend: ${spent}`,
					);
					assert(spent[0] > 0, "nobody has spent anything");
					await users.locator("select[name=order]").selectOption("newest");
					await listed.first().filter({ hasText: sub }).waitFor();

					// A key for the user, shown once, that acts as the user.
					await users.locator("input[name=user-key-name]").fill("bot");
					await users.locator("input[name=user-key-name]").press("Enter");
					await userCard.locator(".once", { hasText: w.once }).waitFor();
					const key = (await userCard.locator("[data-testid=user-key]").innerText()).trim();
					assert(/^mjk_/.test(key), `no key shown: ${key}`);
					const self = await api(key, "GET", "/api/user/self");
					assert(self.sub === sub && self.role === role, `the key acts as ${JSON.stringify(self)}`);
					await screenshot(`admin-user-key-${lang}-${width}`, users);
					assert((await panelFits()).length === 0, `${lang} ${width}: outside the panel: ${await panelFits()}`);
					await noOverflow();
					await headerFits();
					if (lang === "zh") {
						const text = await panelText();
						const left = ENGLISH.filter((word) => text.includes(word));
						assert(left.length === 0, `English on the 中文 users panel: ${left.join(", ")}`);
					}

					// Disabled with a task running: cancelled and refunded, or left to finish, as chosen.
					const running = await submit(
						key,
						choice === "cancel" ? "a fox that waits --sim-slow" : "a fox that finishes",
					);
					assert((await api(adminKey, "GET", `/api/admin/users/${sub}`)).quota === 600, "the task was not charged");
					await userCard.locator("select[name=disable-tasks]").selectOption(choice);
					const answered = page.waitForResponse((r) => r.url().endsWith(`/api/admin/users/${sub}/disable`));
					await userCard.getByRole("button", { name: w.disable, exact: true }).click();
					const disabled = await (await answered).json();
					assert(
						disabled.data?.cancelled === (choice === "cancel" ? 1 : 0),
						`disabling answered ${JSON.stringify(disabled)}; the task: ${JSON.stringify(await taskOf(sub, running))}`,
					);
					await userCard.locator("[data-field=user-state]", { hasText: w.disabled }).waitFor();
					await listed.filter({ hasText: sub }).locator("[data-field=state]", { hasText: w.disabled }).waitFor();
					const refused = await fetch(`${base}/api/user/self`, { headers: { authorization: `Bearer ${key}` } });
					assert(refused.status === 403, `a disabled user's key answered ${refused.status}`);
					await refused.body?.cancel();
					if (choice === "cancel") {
						await userCard.getByText(w.cancelled).waitFor();
						await until("the cancel", async () => (await taskOf(sub, running))?.status === "CANCEL");
						await until(
							"the refund",
							async () => (await api(adminKey, "GET", `/api/admin/users/${sub}`)).quota === 700,
						);
						// The card and the list show the refunded balance, not the one from before the refund.
						assert((await userCard.locator("[data-field=user-quota]").innerText()) === "700", "the card's quota");
						assert(
							(await listed.filter({ hasText: sub }).locator("[data-field=quota]").innerText()) === "700",
							"the list's quota",
						);
					} else {
						assert((await userCard.locator(".hint", { hasText: /cancel|取消/ }).count()) === 0, "a task was cancelled");
						await until("the task's end", async () => (await taskOf(sub, running))?.status === "SUCCESS");
						assert((await api(adminKey, "GET", `/api/admin/users/${sub}`)).quota === 600, "a finished task refunded");
					}
					await screenshot(`admin-user-disabled-${lang}-${width}`, users);
					await noOverflow();

					// Enabled again: the same key works.
					await userCard.getByRole("button", { name: w.enable, exact: true }).click();
					await userCard.locator("[data-field=user-state]", { hasText: w.active }).waitFor();
					assert((await api(key, "GET", "/api/user/self")).sub === sub, "enabling did not restore the key");

					// Shown once: opened again after a reload, the user has no key to copy.
					await page.reload();
					await users.locator("input[name=q]").fill(sub);
					await users.locator("input[name=q]").press("Enter");
					await listed.locator("button.link", { hasText: sub }).click();
					await userCard.locator("dd", { hasText: sub }).waitFor();
					assert((await userCard.locator("[data-testid=user-key]").count()) === 0, "the key is shown again");
				}
			} finally {
				await page.setViewportSize({ width: 1280, height: 900 });
				await language("en").catch(() => undefined);
			}
		},
	);

	await step("admin: all tasks lists the user's tasks, and filters them by user, status and action", async () => {
		await page.locator("td", { hasText: "INPAINT" }).first().waitFor();
		await screenshot("admin");
		const panel = page.locator("section.panel", { has: page.locator("select[name=action]") });
		await panel.locator("input[name=user]").fill(userSub);
		await panel.locator("select[name=status]").selectOption("SUCCESS");
		await panel.locator("select[name=action]").selectOption("INPAINT");
		await panel.locator("button[type=submit]").click();
		// Only the user's finished vary-region tasks are left (GET /api/admin/tasks).
		await page.waitForFunction(() => {
			const rows = [...document.querySelectorAll("section.panel table.fields tbody tr")].filter((row) =>
				row.closest("section")?.querySelector("select[name=action]"),
			);
			return (
				rows.length > 0 &&
				rows.every(
					(row) => row.children[3]?.textContent === "INPAINT" && row.children[4]?.textContent?.startsWith("SUCCESS"),
				)
			);
		});
		await screenshot("admin-filtered");
		// Owners by sub, and a task id opens the task's fields.
		const tasksPanel = page.locator("section.panel", { has: page.locator("select[name=action]") });
		await tasksPanel.locator("tbody button.link", { hasText: userSub }).first().waitFor();
		await tasksPanel.locator("tbody td:first-child button.link").first().click();
		await tasksPanel.locator("[data-testid=admin-task-open] dd", { hasText: userSub }).waitFor();
		await screenshot("admin-task-open");
	});

	await step(
		"admin dashboard: charts drawn with the API's totals, in English and 中文, at 1280 and 390 px",
		async () => {
			const CHARTS = ["per-hour", "per-day", "spent", "durations", "channels", "busiest-today", "busiest-all-time"];
			const dashboard = page.locator("section.dashboard");
			await dashboard.waitFor();
			const offset = await page.evaluate(() => -new Date().getTimezoneOffset());
			const shown = () =>
				page.evaluate(() => {
					const tiles = {};
					for (const summary of document.querySelectorAll(".dashboard .summary")) {
						for (const dd of summary.querySelectorAll("[data-stat]")) {
							tiles[`${summary.dataset.period}.${dd.dataset.stat}`] =
								dd.dataset.value === "" ? null : Number(dd.dataset.value);
						}
					}
					const sums = Object.fromEntries(
						[...document.querySelectorAll(".dashboard [data-chart]")].map((c) => [c.dataset.chart, c.dataset.sums]),
					);
					return { tiles, sums };
				});
			const canonical = (object) => JSON.stringify(Object.entries(object).sort());
			/** The page polls every 10 s: wait until it shows what the API says now. */
			async function expectTotals() {
				const deadline = Date.now() + STEP_TIMEOUT;
				let last = "";
				while (Date.now() < deadline) {
					const stats = await api(adminKey, "GET", `/api/admin/stats?hours=24&days=30&utc_offset=${offset}`);
					const { tiles, sums } = await shown();
					const expected = {};
					for (const [period, totals] of [
						["hours", stats.totals.last_hours],
						["days", stats.totals.last_days],
					]) {
						for (const key of ["submitted", "succeeded", "failed", "cancelled", "spent", "success_rate"])
							expected[`${period}.${key}`] = totals[key];
					}
					const status = (t) => [t.submitted, t.succeeded, t.failed, t.cancelled].join(",");
					const expectedSums = {
						"per-hour": status(stats.totals.last_hours),
						"per-day": status(stats.totals.last_days),
						spent: String(stats.totals.last_days.spent),
						channels: [
							stats.channels.reduce((a, c) => a + c.tasks, 0),
							stats.channels.reduce((a, c) => a + c.failures, 0),
						].join(","),
					};
					const gotSums = Object.fromEntries(Object.keys(expectedSums).map((k) => [k, sums[k]]));
					last = JSON.stringify({ tiles, expected, gotSums, expectedSums });
					if (canonical(tiles) === canonical(expected) && canonical(gotSums) === canonical(expectedSums)) {
						assert(
							stats.totals.last_hours.submitted > 0 && stats.actions.length > 0,
							"the user's tasks are not in the stats",
						);
						return;
					}
					await new Promise((done) => setTimeout(done, 1000));
				}
				throw new Error(`the dashboard differs from GET /api/admin/stats: ${last}`);
			}
			/** Every chart is a canvas inside the dashboard, as wide as its box allows. */
			async function expectCharts(width) {
				for (const name of CHARTS) await dashboard.locator(`[data-chart="${name}"] canvas`).waitFor();
				await page.waitForFunction(
					([names, width]) => {
						const section = document.querySelector("section.dashboard").getBoundingClientRect();
						return (
							section.right <= width + 0.5 &&
							names.every((name) => {
								const canvas = document.querySelector(`.dashboard [data-chart="${name}"] canvas`);
								const box = canvas?.getBoundingClientRect();
								return box && box.width > 100 && box.height > 50 && box.right <= section.right + 0.5;
							})
						);
					},
					[CHARTS, width],
				);
			}
			await expectCharts(1280);
			await expectTotals();
			await screenshot("dashboard");
			await page.click("[data-action=language]");
			await dashboard.getByRole("heading", { name: "仪表盘" }).waitFor();
			await dashboard.getByText("成功率").first().waitFor();
			await expectCharts(1280);
			await expectTotals();
			await screenshot("dashboard-zh");
			await page.setViewportSize({ width: 390, height: 844 });
			await expectCharts(390);
			// The whole admin page fits the window, header and tables included.
			await headerFits();
			await noOverflow();
			await screenshot("dashboard-zh-390");
			await page.click("[data-action=language]");
			await dashboard.getByRole("heading", { name: "Dashboard" }).waitFor();
			await expectCharts(390);
			await expectTotals();
			await headerFits();
			await noOverflow();
			await screenshot("dashboard-390");
			await page.setViewportSize({ width: 1280, height: 900 });
		},
	);

	await step(
		"live view: a task submitted elsewhere arrives over the real SSE stream; without a stream the console polls",
		async () => {
			const streamed = await browser.newContext({ viewport: { width: 1280, height: 900 } });
			await streamed.addInitScript((key) => localStorage.setItem("mj-edge.credential", key), userKey);
			const live = await streamed.newPage();
			live.setDefaultTimeout(STEP_TIMEOUT);
			const polls = [];
			live.on("request", (request) => {
				if (request.url().includes("/mj/task/list-by-condition")) polls.push(request.url());
			});
			await live.goto(`${base}/`);
			await live.locator(".live.stream").waitFor();
			// Submitted through the API, not this page: only the stream can tell the page about it.
			const submitted = await fetch(`${base}/mj/submit/imagine`, {
				method: "POST",
				headers: { "mj-api-secret": userKey, "content-type": "application/json" },
				body: JSON.stringify({ prompt: "a streamed fox" }),
			});
			const taskId = (await submitted.json()).result;
			const streamedCard = live.locator(`.card[data-task-id="${taskId}"]`);
			await streamedCard.waitFor();
			await streamedCard.locator("xpath=self::*[@data-status='SUCCESS']").waitFor();
			assert(polls.length === 0, `the live view polled while the stream was open: ${polls.length} requests`);
			assert(await live.locator(".live.stream").isVisible(), "the live view left the stream");
			// A gateway without the stream (404 for a ticket): the console follows its tasks by polling instead.
			await live.route("**/api/user/stream-ticket", (route) =>
				route.fulfill({ status: 404, json: { success: false, message: "not found" } }),
			);
			await live.reload();
			await live.locator(".live.poll").waitFor();
			await streamed.close();
		},
	);

	await step("a submit without enough quota says so in words, and nothing is added", async () => {
		const poorSub = `browser-poor-${runId}`;
		const poorKey = (await api(await token(poorSub), "POST", "/api/user/keys", { name: "poor" })).key;
		await api(adminKey, "PUT", `/api/admin/users/${poorSub}/quota`, { quota: 0 });
		const poor = await browser.newContext({ viewport: { width: 1280, height: 900 } });
		await poor.addInitScript((key) => localStorage.setItem("mj-edge.credential", key), poorKey);
		const poorPage = await poor.newPage();
		poorPage.setDefaultTimeout(STEP_TIMEOUT);
		await poorPage.goto(`${base}/`);
		await poorPage.getByText("No tasks yet").waitFor();
		await poorPage.fill("textarea[name=prompt]", "a fox I cannot pay for");
		await poorPage.click("form button[type=submit]");
		const alert = poorPage.getByRole("alert");
		await alert.waitFor();
		assert(/not enough quota/i.test(await alert.innerText()), `unexpected message: ${await alert.innerText()}`);
		assert((await poorPage.locator(".card").count()) === 0, "a refused submit left a card");
		await poor.close();
	});

	await step("no script errors and no CSP violations on any page", async () => {
		assert(pageErrors.length === 0, pageErrors.join("\n"));
		assert(violations.length === 0, `CSP violations:\n${violations.join("\n")}`);
	});
} catch (error) {
	failed += 1;
	console.log(`not ok - ${error?.stack ?? error}`);
} finally {
	await browser?.close().catch(() => undefined);
	await gateway?.stop();
	hooks.close();
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
