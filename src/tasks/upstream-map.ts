/** Turns what an upstream reports into a TaskUpdate. */
import type { UpstreamTask } from "../upstream/protocol";
import type { TaskUpdate } from "./model";

/** midjourney-proxy variants send URL lists as strings or as `{url}` objects. */
function urlOf(item: unknown): string[] {
	if (typeof item === "string") return item ? [item] : [];
	if (typeof item === "object" && item !== null && typeof (item as { url?: unknown }).url === "string") {
		return [(item as { url: string }).url];
	}
	return [];
}

function positive(value: number | null | undefined): number | undefined {
	return value != null && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

export function updateFromUpstream(task: UpstreamTask): TaskUpdate | null {
	if (!task.status || task.status === "NOT_START") return null;
	const finalPrompt = task.properties?.finalPrompt;
	const update: TaskUpdate = {
		status: task.status,
		upstreamId: task.id,
		progress: task.progress ?? undefined,
		failReason: task.failReason ?? undefined,
		imageUrl: task.imageUrl || undefined,
		promptEn: task.promptEn ?? undefined,
		finalPrompt: typeof finalPrompt === "string" ? finalPrompt : undefined,
		buttons: task.buttons ?? undefined,
		videoUrl: task.videoUrl || undefined,
		videoUrls: task.videoUrls?.flatMap(urlOf),
		startTime: task.startTime ?? undefined,
		finishTime: task.finishTime ?? undefined,
		seed: task.seed == null || task.seed === "" ? undefined : String(task.seed),
		width: positive(task.width),
		height: positive(task.height),
	};
	if (update.status === "FAILURE" && !update.failReason) {
		update.failReason = task.description || "upstream reported failure";
	}
	return update;
}
