/**
 * Where album pictures live in R2 and the links that serve them. Every stored picture gets a
 * new random key, so a link always names the same bytes (immutable caching) and a changed
 * template picture gets a new link.
 *  - template pictures: `templates/<uuid>.<ext>`, public at /imageTemp/file/<uuid>.<ext>
 *    (the random name is unguessable, so only those shown the template have the link);
 *  - users' own photos: `album-origins/<uuid>.<ext>`, at /userAlbum/origin/<uuid>.<ext>?sig=…,
 *    a capability signed for the `album-origin` purpose, shown only to the photo's owner.
 */
import { sign, signEach, verify } from "../auth/signing";
import type { Deps } from "../deps";
import { type ImageType, newFileName } from "./upload";

const TEMPLATE_PREFIX = "templates/";
const ORIGIN_PREFIX = "album-origins/";
/** The file name part of a key: a random UUID and the type's extension. */
const FILE_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(png|jpg|webp)$/;

export function newTemplateKey(deps: Pick<Deps, "uuid">, type: ImageType): string {
	return TEMPLATE_PREFIX + newFileName(deps, type);
}

export function newOriginKey(deps: Pick<Deps, "uuid">, type: ImageType): string {
	return ORIGIN_PREFIX + newFileName(deps, type);
}

/** The R2 key a template file name in a link stands for, or null for a malformed name. */
export function templateKeyOf(name: string): string | null {
	return FILE_NAME.test(name) ? TEMPLATE_PREFIX + name : null;
}

/** The R2 key of a user's photo, when the name is well formed and `sig` signs it. */
export async function originKeyOf(env: Env, name: string, signature: string | undefined): Promise<string | null> {
	if (!FILE_NAME.test(name)) return null;
	return (await verify(env, "album-origin", name, signature)) ? ORIGIN_PREFIX + name : null;
}

/** The public link of a template picture; "" when the template has none. */
export function templateFileUrl(base: string, key: string | null): string {
	if (!key?.startsWith(TEMPLATE_PREFIX)) return "";
	return `${base}/imageTemp/file/${key.slice(TEMPLATE_PREFIX.length)}`;
}

/** The signed link of a user's photo; "" when there is none (prompt templates). */
export async function originUrl(env: Env, base: string, key: string | null): Promise<string> {
	const name = originName(key);
	return name === null ? "" : originLink(base, name, await sign(env, "album-origin", name));
}

/** originUrl of each key, in order, in one wait (signEach). */
export async function originUrls(env: Env, base: string, keys: readonly (string | null)[]): Promise<string[]> {
	const names = keys.map(originName);
	const signatures = await signEach(env, "album-origin", names);
	return names.map((name, i) => {
		const signature = signatures[i];
		return name === null || signature === null ? "" : originLink(base, name, signature);
	});
}

const originName = (key: string | null): string | null =>
	key?.startsWith(ORIGIN_PREFIX) ? key.slice(ORIGIN_PREFIX.length) : null;
const originLink = (base: string, name: string, signature: string) =>
	`${base}/userAlbum/origin/${name}?sig=${signature}`;
