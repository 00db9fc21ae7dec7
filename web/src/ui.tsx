/** Small pieces every page uses: error messages a person understands, buttons that show progress. */
import type { ButtonHTMLAttributes, ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";
import { locale, t } from "./i18n";

/** Reasons the gateway gives often, in the user's language; any other reason is shown as the server wrote it. */
const KNOWN_REASONS: [RegExp, (match: RegExpExecArray) => string][] = [
	[/^no upstream channel is available/i, () => t("reason.noChannel")],
	[/^token expired/i, () => t("reason.tokenExpired")],
	[/^invalid API key/i, () => t("reason.invalidKey")],
	[/^missing token/i, () => t("reason.missingToken")],
	[/^token signature is invalid/i, () => t("reason.tokenSignature")],
	[/^token is malformed/i, () => t("reason.tokenMalformed")],
	[
		/^the modal step \(mask or prompt\) was not sent within (\d+) minutes/i,
		(match) => t("reason.modalAbandoned", { n: match[1] ?? "" }),
	],
	[/^not enough quota: \S+ costs (\d+)/i, (match) => t("reason.notEnoughQuota", { n: match[1] ?? "" })],
];

/** The server's reason, localized where the console knows it. */
export function localizeReason(reason: string): string {
	for (const [pattern, word] of KNOWN_REASONS) {
		const match = pattern.exec(reason);
		if (match) return word(match);
	}
	return reason;
}

/** An error in words: what went wrong and what to do, and the gateway's own reason (localized where known). */
export function describeError(error: unknown): string {
	if (!(error instanceof ApiError)) return t("error.server");
	let text = t(`error.${error.kind}`);
	const reason = error.kind === "network" ? "" : localizeReason(error.message.trim());
	if (reason)
		text += error.kind === "invalid" || error.kind === "banned" ? `: ${reason}` : ` ${t("error.reason")}: ${reason}`;
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

/** The rows a panel shows, read when it opens; `reload` after a change. */
export function useRows<T>(read: () => Promise<T[]>) {
	const [rows, setRows] = useState<T[] | null>(null);
	const list = useAction();
	const reload = () => list.run(read).then((next) => next && setRows(next));
	useEffect(() => {
		void reload();
	}, []);
	return { rows, error: list.error, reload };
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

/** Epoch milliseconds or seconds as a date and time in the user's locale and time zone; "" for 0. */
export function formatTime(value: number | undefined | null, unit: "ms" | "s" = "ms"): string {
	if (!value) return "";
	return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "medium" }).format(
		new Date(unit === "s" ? value * 1000 : value),
	);
}

/** The picture types the submit APIs take (the file choosers' `accept`). */
export const PICTURE_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"];
export const isPicture = (file: File) => PICTURE_TYPES.includes(file.type);

/** Reads dropped or chosen files as data URLs (the form the submit APIs take pictures in). */
export function readAsDataUrls(files: FileList | File[]): Promise<string[]> {
	return Promise.all(
		[...files].filter(isPicture).map(
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
