/**
 * The CDN (cdn.discordapp.com / media.discordapp.net): stateless, every picture is drawn from
 * its file name, so a link stays good however long ago the fake made it. `?fake=single` draws
 * one picture instead of a 2x2 grid; `.mp4` answers the simulator's sample video.
 */
import { gridImage, pngResponse, singleImage } from "../../src/images";
import { SAMPLE_MP4_BASE64 } from "../../src/sample-video";

const VIDEO_BYTES = Uint8Array.from(atob(SAMPLE_MP4_BASE64), (ch) => ch.charCodeAt(0));

/** True for the paths the CDN serves. */
export function isCdnPath(pathname: string): boolean {
	return pathname.startsWith("/attachments/") || pathname.startsWith("/ephemeral-attachments/");
}

export function serveCdn(request: Request): Response {
	if (request.method !== "GET" && request.method !== "HEAD") return new Response(null, { status: 405 });
	const url = new URL(request.url);
	const name = decodeURIComponent(url.pathname.slice(url.pathname.lastIndexOf("/") + 1));
	if (!name) return new Response("Not Found", { status: 404 });
	if (name.endsWith(".mp4")) {
		return new Response(request.method === "HEAD" ? null : VIDEO_BYTES, {
			headers: { "content-type": "video/mp4", "content-length": String(VIDEO_BYTES.length) },
		});
	}
	const spec = url.searchParams.get("fake") === "single" ? singleImage(name) : gridImage(name);
	// With its length, as Discord's CDN sends it (see pngResponse).
	return pngResponse(spec, "public, max-age=86400", request.method);
}
