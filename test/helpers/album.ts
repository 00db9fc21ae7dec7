/** Shared by the album and template tests: real pictures built here, requests, envelopes. */
import { expect } from "vitest";
import { encodePng } from "../../simulator/src/png";
import { BASE, call, json } from "./api";

/** A real PNG; `seed` changes its pixels. */
export async function png(width = 4, height = 4, seed = 0): Promise<Uint8Array> {
	const { body } = encodePng(width, height, (y, row) => row.fill((y * 31 + seed) & 255));
	return new Uint8Array(await new Response(body).arrayBuffer());
}

/** Bytes from numbers and ASCII strings. */
export const bytes = (...parts: (number[] | string)[]) =>
	Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...p].map((ch) => ch.charCodeAt(0)) : p)));

/** A JFIF header (SOI, APP0), a few bytes, EOI: the gateway judges pictures by their first bytes. */
export const JPEG = bytes(
	[0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10],
	"JFIF",
	[0, 1, 1, 0, 0, 1, 0, 1, 0, 0],
	[1, 2, 3, 4],
	[0xff, 0xd9],
);
/** A 1x1 lossless WebP. */
export const WEBP = bytes(
	"RIFF",
	[0x1a, 0, 0, 0],
	"WEBP",
	"VP8L",
	[0x0d, 0, 0, 0, 0x2f, 0, 0, 0, 0x10, 0x07, 0x10, 0x11, 0x11, 0x88, 0x88, 0xfe, 0x07, 0, 0],
);

/** The seed's imageTemp fields, in its order. */
export const IMAGE_TEMP_KEYS = [
	"id",
	"title",
	"covering",
	"image",
	"workflowId",
	"prompt",
	"favoriteCount",
	"isAudit",
	"pid",
	"sort",
	"author",
	"createdAt",
	"updatedAt",
] as const;

export interface Envelope<T> {
	code: number;
	msg: string;
	data?: T;
}

type FileField = Uint8Array | { bytes: Uint8Array; name: string; type?: string };

/** A multipart form; a bare byte array is sent as `<field>.png`, image/png. */
export function form(fields: Record<string, string | number>, files: Record<string, FileField> = {}): FormData {
	const data = new FormData();
	for (const [key, value] of Object.entries(fields)) data.set(key, String(value));
	for (const [key, file] of Object.entries(files)) {
		const { bytes, name, type } =
			file instanceof Uint8Array ? { bytes: file, name: `${key}.png`, type: "image/png" } : file;
		data.set(key, new File([bytes], name, { type: type ?? "application/octet-stream" }));
	}
	return data;
}

/** POST with a form, a JSON object, or no body. */
export function post(
	path: string,
	token: string | undefined,
	body?: FormData | Record<string, unknown>,
): Promise<Response> {
	if (body === undefined) return call(path, { method: "POST", token });
	if (body instanceof FormData) return call(path, { method: "POST", token, body });
	return call(path, {
		method: "POST",
		token,
		body: JSON.stringify(body),
		headers: { "content-type": "application/json" },
	});
}

/** The success envelope `{code: 200, msg: "SUCCESS", data}`: returns data. */
export async function ok<T>(response: Response): Promise<T> {
	const body = await json<Envelope<T>>(response);
	expect(response.status, JSON.stringify(body)).toBe(200);
	expect(Object.keys(body)).toEqual(["code", "msg", "data"]);
	expect(body.code).toBe(200);
	expect(body.msg).toBe("SUCCESS");
	return body.data as T;
}

/** The album error envelope `{code, msg}`: returns msg. */
export async function refused(response: Response, code: number, status: number): Promise<string> {
	const body = await json<Envelope<never>>(response);
	expect(response.status, JSON.stringify(body)).toBe(status);
	expect(Object.keys(body).sort()).toEqual(["code", "msg"]);
	expect(body.code).toBe(code);
	expect(body.msg.length).toBeGreaterThan(0);
	return body.msg;
}

/** GETs a gateway URL through the Worker. */
export async function fetchBytes(url: string): Promise<{ response: Response; body: Uint8Array }> {
	expect(url.startsWith(BASE), url).toBe(true);
	const response = await call(url.slice(BASE.length));
	return { response, body: new Uint8Array(await response.arrayBuffer()) };
}
