/** The opaque list cursor shared by every surface: where the last page ended. */
import type { TaskCursor } from "../db/tasks";
import { badRequest } from "../errors";

export function encodeCursor(cursor: TaskCursor): string {
	return btoa(`${cursor.submitTime}.${cursor.id}`).replace(/=+$/, "");
}

export function decodeCursor(value: string): TaskCursor {
	let text: string;
	try {
		text = atob(value);
	} catch {
		throw badRequest("cursor is not valid");
	}
	const match = /^(\d{1,15})\.(\d{1,15})$/.exec(text);
	if (!match) throw badRequest("cursor is not valid");
	return { submitTime: Number(match[1]), id: Number(match[2]) };
}
