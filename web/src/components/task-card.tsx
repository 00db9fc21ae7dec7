/** One task in the gallery: live progress while it runs; the picture (or video) and its buttons when done. */
import { useEffect, useRef } from "preact/hooks";
import { type Button, isFinished, type Task, tasks } from "../api";
import { known, t } from "../i18n";
import { useSignal } from "../signal";
import { focused, gallery, track } from "../task-store";
import { ErrorNote, localizeReason, useAction } from "../ui";

/** What a button that answered code 21 still needs: a mask (vary region) or a prompt (custom zoom). */
export interface ModalStep {
	kind: "mask" | "zoom";
	/** The task the button was pressed on (its picture is what the mask is painted on). */
	parent: Task;
	/** The MODAL task the button created, which /submit/modal completes. */
	modalTaskId: string;
}

export const percent = (task: Task) =>
	task.status === "SUCCESS" ? 100 : Math.max(0, Math.min(100, Number.parseInt(task.progress, 10) || 0));

export function Progress({ task }: { task: Task }) {
	const value = percent(task);
	return (
		<div
			class={`progress s-${task.status}`}
			role="progressbar"
			aria-valuemin={0}
			aria-valuemax={100}
			aria-valuenow={value}
			aria-label={t("progress")}
		>
			<div style={{ width: `${value}%` }} />
		</div>
	);
}

export function StatusBadge({ task }: { task: Task }) {
	return <span class={`badge s-${task.status}`}>{t(`status.${task.status}`)}</span>;
}

/** An action's name in the user's language (the API's own name where the console has none). */
export const actionName = (action: string) => known(`action.${action}`, action);

export function Media({ task }: { task: Task }) {
	const video = task.videoUrl || task.videoUrls?.[0]?.url;
	if (video)
		return <video src={video} poster={task.imageUrl || undefined} controls muted loop playsInline preload="metadata" />;
	if (task.imageUrl) return <img src={task.imageUrl} alt={task.prompt} loading="lazy" />;
	if (!isFinished(task) && task.status !== "MODAL")
		return (
			<div class="placeholder working" data-testid="working">
				<span class="spinner big" aria-hidden="true" />
				<span>
					{t(`status.${task.status}`)} · {percent(task)}%
				</span>
			</div>
		);
	return <div class="placeholder">{actionName(task.action)}</div>;
}

/** The modal step a MODAL task still waits for, from the task itself: what kind, and on which picture. */
export async function modalStepOf(task: Task): Promise<ModalStep> {
	const kind = task.action === "INPAINT" || /inpaint/i.test(task.customId ?? "") ? "mask" : "zoom";
	const parentId = task.parentId;
	const parent =
		gallery.get().items.find((item) => item.id === parentId) ?? (parentId ? await tasks.fetch(parentId) : task);
	return { kind, parent, modalTaskId: task.id };
}

/** What describe (four prompts) and shorten (five shorter ones) answer in words, not a picture. */
export function textResult(task: Task): string {
	if (task.action !== "DESCRIBE" && task.action !== "SHORTEN") return "";
	const final = task.properties?.finalPrompt;
	return typeof final === "string" && final ? final : task.prompt;
}

const buttonLabel = (button: Button) => [button.emoji, button.label].filter(Boolean).join(" ") || button.customId;

export function TaskCard({ task, onModal }: { task: Task; onModal: (step: ModalStep) => void }) {
	const action = useAction();
	const element = useRef<HTMLElement>(null);
	const isFocused = useSignal(focused) === task.id;

	// The task this page just created comes into view wherever the user was in the gallery.
	useEffect(() => {
		if (isFocused) element.current?.scrollIntoView({ block: "nearest", behavior: "smooth" });
	}, [isFocused]);

	async function reopen() {
		const step = await action.run(() => modalStepOf(task));
		if (step) onModal(step);
	}

	async function press(button: Button) {
		const submitted = await action.run(() => tasks.action(task.id, button.customId));
		if (!submitted) return;
		if (submitted.code === 21) {
			// Charged already: its card shows in the gallery at once, and reopens the step if the dialog is closed.
			await action.run(() => track(submitted.taskId));
			const kind = /inpaint/i.test(button.customId) ? "mask" : "zoom";
			onModal({ kind, parent: task, modalTaskId: submitted.taskId });
			return;
		}
		await action.run(() => track(submitted.taskId));
	}

	const buttons = task.status === "SUCCESS" ? (task.buttons ?? []) : [];
	return (
		<article
			ref={element}
			class={`card ${isFocused ? "fresh" : ""}`}
			data-task-id={task.id}
			data-status={task.status}
			data-action={task.action}
		>
			<a class="media" href={`#/task/${task.id}`}>
				<Media task={task} />
			</a>
			<Progress task={task} />
			<div class="meta">
				<StatusBadge task={task} />
				<span class="action">{actionName(task.action)}</span>
				{!isFinished(task) && task.status !== "MODAL" && <span class="percent">{task.progress || "0%"}</span>}
			</div>
			{/* A finished describe's prompt is its answer, shown in full below. */}
			{!(task.action === "DESCRIBE" && task.status === "SUCCESS") && (
				<p class="prompt" title={task.prompt}>
					{task.prompt || task.description}
				</p>
			)}
			{task.status === "SUCCESS" && textResult(task) && <pre class="result">{textResult(task)}</pre>}
			{task.failReason && <p class="error">{localizeReason(task.failReason)}</p>}
			{task.status === "MODAL" && (
				<div class="modal-wait">
					<p class="hint">{t("modalWaiting")}</p>
					<button type="button" class="small primary" data-action="continue" disabled={action.busy} onClick={reopen}>
						{t("continueStep")}
					</button>
				</div>
			)}
			{buttons.length > 0 && (
				<div class="buttons">
					{buttons.map((button) => (
						<button
							type="button"
							key={button.customId}
							class="small"
							disabled={action.busy}
							data-custom-id={button.customId}
							onClick={() => press(button)}
						>
							{buttonLabel(button)}
						</button>
					))}
				</div>
			)}
			{action.busy && <p class="hint">{t("submitting")}</p>}
			<ErrorNote error={action.error} />
			<div class="links">
				<a href={`#/task/${task.id}`}>{t("details")}</a>
				{!isFinished(task) && task.status !== "NOT_START" && (
					<button type="button" class="link" onClick={() => action.run(() => tasks.cancel(task.id))}>
						{t("cancel")}
					</button>
				)}
			</div>
		</article>
	);
}
