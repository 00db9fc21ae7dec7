/** One task in the gallery: live progress while it runs; the picture (or video) and its buttons when done. */
import { type Button, isFinished, type Task, tasks } from "../api";
import { t } from "../i18n";
import { track } from "../task-store";
import { ErrorNote, useAction } from "../ui";

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

export function Media({ task }: { task: Task }) {
	const video = task.videoUrl || task.videoUrls?.[0]?.url;
	if (video)
		return <video src={video} poster={task.imageUrl || undefined} controls muted loop playsInline preload="metadata" />;
	if (task.imageUrl) return <img src={task.imageUrl} alt={task.prompt} loading="lazy" />;
	return <div class="placeholder">{task.action}</div>;
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

	async function press(button: Button) {
		const submitted = await action.run(() => tasks.action(task.id, button.customId));
		if (!submitted) return;
		if (submitted.code === 21) {
			const kind = /inpaint/i.test(button.customId) ? "mask" : "zoom";
			onModal({ kind, parent: task, modalTaskId: submitted.taskId });
			return;
		}
		await action.run(() => track(submitted.taskId));
	}

	const buttons = task.status === "SUCCESS" ? (task.buttons ?? []) : [];
	return (
		<article class="card" data-task-id={task.id} data-status={task.status} data-action={task.action}>
			<a class="media" href={`#/task/${task.id}`}>
				<Media task={task} />
			</a>
			<Progress task={task} />
			<div class="meta">
				<StatusBadge task={task} />
				<span class="action">{task.action}</span>
				{!isFinished(task) && <span class="percent">{task.progress || "0%"}</span>}
			</div>
			{/* A finished describe's prompt is its answer, shown in full below. */}
			{!(task.action === "DESCRIBE" && task.status === "SUCCESS") && (
				<p class="prompt" title={task.prompt}>
					{task.prompt || task.description}
				</p>
			)}
			{task.status === "SUCCESS" && textResult(task) && <pre class="result">{textResult(task)}</pre>}
			{task.failReason && <p class="error">{task.failReason}</p>}
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
