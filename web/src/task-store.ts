/**
 * The signed-in user's tasks as the gallery shows them: pages read on the cursor API, newest
 * first, kept current by the live stream (or polling, where the gateway has no stream).
 */
import { follow, isFinished, type Task, tasks } from "./api";
import { signal } from "./signal";

export interface Gallery {
	items: Task[];
	/** The cursor of the next page; null once the last page is read. */
	next: string | null;
	started: boolean;
	loading: boolean;
	error: unknown;
}

const empty = (): Gallery => ({ items: [], next: null, started: false, loading: false, error: null });

export const gallery = signal<Gallery>(empty());
/** How updates arrive: the SSE stream, polling, or not yet known. */
export const liveMode = signal<"stream" | "poll" | null>(null);

const newestFirst = (a: Task, b: Task) => (b.submitTime ?? 0) - (a.submitTime ?? 0);

/** Puts a task in the gallery, replacing its older state; an update never brings back a finished task's past. */
export function upsert(task: Task): void {
	const state = gallery.get();
	const index = state.items.findIndex((item) => item.id === task.id);
	if (index === -1) {
		gallery.set({ ...state, items: [...state.items, task].sort(newestFirst) });
		return;
	}
	const old = state.items[index];
	if (old && isFinished(old) && !isFinished(task)) return;
	const items = [...state.items];
	items[index] = task;
	gallery.set({ ...state, items });
}

/** Reads the next page (the first on the first call); does nothing while a page is loading or after the last. */
export async function loadMore(): Promise<void> {
	const state = gallery.get();
	if (state.loading || (state.started && state.next === null)) return;
	gallery.set({ ...state, loading: true, error: null });
	try {
		const page = await tasks.page(state.started ? state.next : null);
		const known = new Set(gallery.get().items.map((item) => item.id));
		const items = [...gallery.get().items, ...page.items.filter((item) => !known.has(item.id))].sort(newestFirst);
		gallery.set({ items, next: page.next, started: true, loading: false, error: null });
	} catch (error) {
		gallery.set({ ...gallery.get(), loading: false, error });
	}
}

/** Counts the tasks this page created: each one charged quota, so the header re-reads the balance. */
export const created = signal(0);

/**
 * The task just created by this page: its card scrolls into view and stands out, so the result of
 * a button pressed far down the gallery appears where the user is looking.
 */
export const focused = signal<string | null>(null);

/** Adds a task just created (a submit's id) at the top of the gallery, and brings its card into view. */
export async function track(taskId: string): Promise<void> {
	upsert(await tasks.fetch(taskId));
	created.set(created.get() + 1);
	focused.set(taskId);
}

let stop: (() => void) | null = null;

/** Starts following the user's tasks live; idempotent. */
export function startLive(): void {
	if (stop) return;
	stop = follow(
		(task) => upsert(task),
		() =>
			gallery
				.get()
				.items.filter((task) => !isFinished(task))
				.map((task) => task.id),
		(mode) => liveMode.set(mode),
	);
}

/** Forgets everything (sign-out). */
export function resetTasks(): void {
	stop?.();
	stop = null;
	liveMode.set(null);
	focused.set(null);
	gallery.set(empty());
}
