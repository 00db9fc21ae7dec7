/** Small pieces every page uses: error messages a person understands, buttons that show progress. */
import type { ButtonHTMLAttributes, ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { ApiError } from "./api";
import { t } from "./i18n";

/** An error in words: what went wrong and what to do, with the gateway's own reason where it helps. */
export function describeError(error: unknown): string {
	if (!(error instanceof ApiError)) return t("error.server");
	let text = t(`error.${error.kind}`);
	if ((error.kind === "invalid" || error.kind === "banned") && error.message) text += `: ${error.message}`;
	if (error.retryAfter) text += ` (${t("retryIn", { n: error.retryAfter })})`;
	return text;
}

export function ErrorNote({ error }: { error: unknown }) {
	if (!error) return null;
	return (
		<p class="error" role="alert">
			{describeError(error)}
		</p>
	);
}

/**
 * Runs an async action: disables the caller's button and shows `busy` while it runs, keeps the
 * error for display. `run` returns the action's result, or undefined when it failed.
 */
export function useAction() {
	const [busy, setBusy] = useState(false);
	const [error, setError] = useState<unknown>(null);
	async function run<T>(action: () => Promise<T>): Promise<T | undefined> {
		setBusy(true);
		setError(null);
		try {
			return await action();
		} catch (caught) {
			setError(caught);
			return undefined;
		} finally {
			setBusy(false);
		}
	}
	return { busy, error, run, setError };
}

export function BusyButton(
	props: { busy: boolean; busyLabel?: string; children: ComponentChildren } & ButtonHTMLAttributes<HTMLButtonElement>,
) {
	const { busy, busyLabel, children, ...rest } = props;
	return (
		<button {...rest} disabled={busy || Boolean(rest.disabled)} aria-busy={busy}>
			{busy ? (
				<>
					<span class="spinner" aria-hidden="true" />
					{busyLabel ?? t("loading")}
				</>
			) : (
				children
			)}
		</button>
	);
}

/** Epoch milliseconds or seconds as a local date and time; "" for 0. */
export function formatTime(value: number | undefined | null, unit: "ms" | "s" = "ms"): string {
	if (!value) return "";
	return new Date(unit === "s" ? value * 1000 : value).toLocaleString();
}

/** Reads dropped or chosen files as data URLs (the form the submit APIs take pictures in). */
export function readAsDataUrls(files: FileList | File[]): Promise<string[]> {
	return Promise.all(
		[...files]
			.filter((file) => file.type.startsWith("image/"))
			.map(
				(file) =>
					new Promise<string>((resolve, reject) => {
						const reader = new FileReader();
						reader.onload = () => resolve(String(reader.result));
						reader.onerror = () => reject(reader.error);
						reader.readAsDataURL(file);
					}),
			),
	);
}
