/** The opaque list cursors: where the last page ended, as text clients hand back unread. */
import type { TaskCursor } from "../db/tasks";
import { base64, fromBase64 } from "../encoding";
import { badRequest } from "../errors";

/** Text (ASCII) as an opaque cursor: base64 without its padding, the form clients already hold. */
export function opaqueCursor(text: string): string {
	return base64(new TextEncoder().encode(text)).replace(/=+$/, "");
}

/** The text of an opaque cursor; a value that is not one is refused as "cursor is not valid". */
export function cursorText(value: string): string {
	try {
		return new TextDecoder().decode(fromBase64(value));
	} catch {
		throw badRequest("cursor is not valid");
	}
}

export function encodeCursor(cursor: TaskCursor): string {
	return opaqueCursor(`${cursor.submitTime}.${cursor.id}`);
}

export function decodeCursor(value: string): TaskCursor {
	const match = /^(\d{1,15})\.(\d{1,15})$/.exec(cursorText(value));
	if (!match) throw badRequest("cursor is not valid");
	return { submitTime: Number(match[1]), id: Number(match[2]) };
}
