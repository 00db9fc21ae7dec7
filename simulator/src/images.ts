/**
 * Deterministic pictures for simulated tasks. A picture is described by a small JSON-safe
 * `ImageSpec` (stored with the task) and only rendered when its URL is fetched, so a task
 * costs a few bytes of storage however large its image is.
 */
import { encodePng } from "./png";

/** [r, g, b]. Plain arrays rather than tuples: specs cross Durable Object RPC, which widens tuples. */
export type Rgb = number[];

/** One painted area: a diagonal gradient with an overlaid pattern. */
export interface Tile {
	from: Rgb;
	to: Rgb;
	/** 0 plain, 1 stripes, 2 rings, 3 checks. */
	pattern: number;
}

export type ImageSpec =
	/** `tiles`: top-left, top-right, bottom-left, bottom-right (Midjourney's 1..4). */
	{ kind: "grid"; tiles: Tile[]; megabytes?: number } | { kind: "single"; tile: Tile; megabytes?: number };

export const IMAGE_SIZE = 512;
const LARGE_WIDTH = 4096;
/** Cap of the `--sim-size` marker, so a typo cannot ask the Worker for gigabytes. */
export const MAX_MEGABYTES = 200;

/** A 2x2 grid whose colours derive from `seed` (the prompt for IMAGINE). */
export function gridImage(seed: string, megabytes?: number): ImageSpec {
	const random = prng(seed);
	const tiles = [randomTile(random), randomTile(random), randomTile(random), randomTile(random)];
	return withSize({ kind: "grid", tiles }, megabytes);
}

/** One image from `seed` (SWAP_FACE, EDITS, DESCRIBE, a video's cover). */
export function singleImage(seed: string, megabytes?: number): ImageSpec {
	return withSize({ kind: "single", tile: randomTile(prng(seed)) }, megabytes);
}

/** The single image of quadrant `index` (1..4) of a grid. */
export function upscaleImage(grid: ImageSpec, index: number, megabytes?: number): ImageSpec {
	return withSize({ kind: "single", tile: structuredClone(quadrant(grid, index)) }, megabytes);
}

/** A new grid whose four tiles are perturbations of quadrant `index` (1..4) of `grid`. */
export function variationImage(grid: ImageSpec, index: number, seed: string, megabytes?: number): ImageSpec {
	return derivedGrid(sourceTile(grid, index), seed, megabytes);
}

/**
 * A new grid of four perturbations of `base`: what every follow-up that answers with a grid
 * (variation, pan, zoom, vary region, custom zoom) shows, each seeded by its own task id.
 */
export function derivedGrid(base: Tile, seed: string, megabytes?: number): ImageSpec {
	const random = prng(seed);
	const vary = (): Tile => varyTile(base, random);
	return withSize({ kind: "grid", tiles: [vary(), vary(), vary(), vary()] }, megabytes);
}

/** One perturbation of `base` as a single image (Upscale (Subtle) / (Creative) of an upscale). */
export function derivedSingle(base: Tile, seed: string, megabytes?: number): ImageSpec {
	return withSize({ kind: "single", tile: varyTile(base, prng(seed)) }, megabytes);
}

/** The picture a follow-up starts from: quadrant `index` (1..4) of a grid, or a single image itself. */
export function sourceTile(spec: ImageSpec, index: number): Tile {
	return spec.kind === "single" ? structuredClone(spec.tile) : structuredClone(quadrant(spec, index));
}

function varyTile(base: Tile, random: () => number): Tile {
	return {
		from: perturb(base.from, random),
		to: perturb(base.to, random),
		pattern: random() < 0.75 ? base.pattern : Math.floor(random() * 4),
	};
}

/** Pixel size of a spec: 512x512, or 4096 wide with as many rows as `megabytes` needs. */
export function imageDimensions(spec: ImageSpec): { width: number; height: number } {
	if (spec.megabytes === undefined) return { width: IMAGE_SIZE, height: IMAGE_SIZE };
	const rowBytes = 1 + LARGE_WIDTH * 3;
	return { width: LARGE_WIDTH, height: Math.max(1, Math.round((spec.megabytes * 1_000_000) / rowBytes)) };
}

/** Renders a spec as a lazily produced PNG. */
export function renderPng(spec: ImageSpec): { body: ReadableStream<Uint8Array>; length: number } {
	const { width, height } = imageDimensions(spec);
	const halfW = width / 2;
	const halfH = height / 2;
	return encodePng(width, height, (y, row) => {
		if (spec.kind === "single") {
			paintRow(spec.tile, row, 0, width, y / height, width);
			return;
		}
		const top = y < halfH;
		const v = top ? y / halfH : (y - halfH) / (height - halfH);
		const splitX = Math.floor(halfW);
		paintRow(quadrant(spec, top ? 1 : 3), row, 0, splitX, v, splitX);
		paintRow(quadrant(spec, top ? 2 : 4), row, splitX, width, v, width - splitX);
	});
}

/**
 * A picture as an image server sends it: rendered as it streams, with its Content-Length. A stream
 * made in a Worker goes out chunked, its length dropped, unless it passes through a
 * FixedLengthStream; the gateway then cannot stream the copy into R2 and must buffer it in parts.
 * HEAD answers the same headers without the body.
 */
export function pngResponse(spec: ImageSpec, cacheControl: string, method = "GET"): Response {
	const { body, length } = renderPng(spec);
	const headers = { "content-type": "image/png", "content-length": String(length), "cache-control": cacheControl };
	if (method === "HEAD") {
		body.cancel().catch(() => {});
		return new Response(null, { headers });
	}
	const fixed = new FixedLengthStream(length);
	body.pipeTo(fixed.writable).catch(() => {
		// The reader went away; the pipe has already cancelled the renderer.
	});
	return new Response(fixed.readable, { headers });
}

/** Paints pixels [x0, x1) of a row; `v` is the row's position in the tile, `span` its width. */
function paintRow(tile: Tile, row: Uint8Array, x0: number, x1: number, v: number, span: number): void {
	const [fr = 0, fg = 0, fb = 0] = tile.from;
	const [tr = 0, tg = 0, tb = 0] = tile.to;
	for (let x = x0; x < x1; x++) {
		const u = (x - x0) / span;
		const t = (u + v) / 2;
		const shade = patternShade(tile.pattern, u, v);
		const i = x * 3;
		row[i] = (fr + (tr - fr) * t) * shade;
		row[i + 1] = (fg + (tg - fg) * t) * shade;
		row[i + 2] = (fb + (tb - fb) * t) * shade;
	}
}

function patternShade(pattern: number, u: number, v: number): number {
	switch (pattern) {
		case 1:
			return Math.floor(v * 16) % 2 === 0 ? 1 : 0.8;
		case 2: {
			const d = Math.hypot(u - 0.5, v - 0.5);
			return Math.floor(d * 20) % 2 === 0 ? 1 : 0.75;
		}
		case 3:
			return (Math.floor(u * 8) + Math.floor(v * 8)) % 2 === 0 ? 1 : 0.85;
		default:
			return 1;
	}
}

function quadrant(grid: ImageSpec, index: number): Tile {
	if (grid.kind !== "grid") throw new RangeError("only a grid has quadrants");
	const tile = grid.tiles[index - 1];
	if (!tile) throw new RangeError(`quadrant ${index} out of 1..4`);
	return tile;
}

function withSize(spec: ImageSpec, megabytes: number | undefined): ImageSpec {
	if (megabytes === undefined) return spec;
	return { ...spec, megabytes: Math.min(Math.max(megabytes, 0.01), MAX_MEGABYTES) };
}

function randomTile(random: () => number): Tile {
	return { from: randomColour(random), to: randomColour(random), pattern: Math.floor(random() * 4) };
}

function randomColour(random: () => number): Rgb {
	return [Math.floor(random() * 256), Math.floor(random() * 256), Math.floor(random() * 256)];
}

function perturb(colour: Rgb, random: () => number): Rgb {
	return colour.map((c) => Math.min(255, Math.max(0, Math.round(c + (random() - 0.5) * 80))));
}

/** A seeded PRNG (cyrb53-style string hash feeding mulberry32); stable across runtimes. */
export function prng(seed: string): () => number {
	let h1 = 0xdeadbeef;
	let h2 = 0x41c6ce57;
	for (let i = 0; i < seed.length; i++) {
		const ch = seed.charCodeAt(i);
		h1 = Math.imul(h1 ^ ch, 2654435761);
		h2 = Math.imul(h2 ^ ch, 1597334677);
	}
	h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
	let state = h1 >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}
