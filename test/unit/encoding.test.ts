/** The one copy of each byte encoding (src/encoding.ts) and the one way stored pictures are named. */
import { describe, expect, it } from "vitest";
import { defaultDeps } from "../../src/deps";
import { base64, base64url, fromBase64, fromBase64url, sha256Hex } from "../../src/encoding";
import { extensionOf, newFileName } from "../../src/images/upload";

/** Bytes 0..255 over and over: every byte value, past the 32 KiB chunk the encoder works in. */
const bytes = (length: number) => Uint8Array.from({ length }, (_, i) => i % 256);

describe("byte encodings", () => {
	it("base64 matches RFC 4648's vectors, padding included", () => {
		const ascii = (text: string) => new TextEncoder().encode(text);
		expect(["", "f", "fo", "foo", "foob", "fooba", "foobar"].map((t) => base64(ascii(t)))).toEqual([
			"",
			"Zg==",
			"Zm8=",
			"Zm9v",
			"Zm9vYg==",
			"Zm9vYmE=",
			"Zm9vYmFy",
		]);
	});

	it("base64 round-trips a large file byte for byte (several chunks, a partial last one)", () => {
		const big = bytes(3 * 0x8000 + 7);
		const text = base64(big);
		expect(text.length).toBe(Math.ceil(big.length / 3) * 4);
		expect(fromBase64(text)).toEqual(big);
	});

	it("base64url uses - and _ and no padding, and reads back", () => {
		const tricky = new Uint8Array([0xfb, 0xff, 0xbf, 0xfe]);
		expect(base64(tricky)).toBe("+/+//g==");
		expect(base64url(tricky)).toBe("-_-__g");
		expect(fromBase64url("-_-__g")).toEqual(tricky);
		expect(() => fromBase64url("a")).toThrow();
	});

	it("sha256Hex is the 64-digit lower-case hex digest of text (UTF-8) or bytes", async () => {
		expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
		expect(await sha256Hex(new TextEncoder().encode("abc"))).toBe(await sha256Hex("abc"));
		expect(await sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
		expect(await sha256Hex("狗")).toMatch(/^[0-9a-f]{64}$/);
	});
});

describe("stored picture names", () => {
	it("the extension follows the content type; anything else is png", () => {
		expect(extensionOf("image/jpeg")).toBe("jpg");
		expect(extensionOf("IMAGE/WEBP; q=1")).toBe("webp");
		expect(extensionOf("image/png")).toBe("png");
		expect(extensionOf("text/html")).toBe("png");
		expect(extensionOf("constructor")).toBe("png");
		expect(extensionOf(undefined)).toBe("png");
	});

	it("a new name is a random UUID and the extension, never the same twice", () => {
		const name = newFileName(defaultDeps(), "image/webp");
		expect(name).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.webp$/);
		expect(newFileName(defaultDeps(), "image/webp")).not.toBe(name);
	});
});
