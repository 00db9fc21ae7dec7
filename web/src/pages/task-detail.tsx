/** One task in full: every field, the prompt as run, times, failure, and its callback deliveries. */
import { useEffect, useState } from "preact/hooks";
import { account, type Delivery, isFinished, type Task, tasks } from "../api";
import { actionName, Media, Progress, StatusBadge } from "../components/task-card";
import { t } from "../i18n";
import { useSignal } from "../signal";
import { gallery, upsert } from "../task-store";
import { BusyButton, ErrorNote, formatTime, localizeReason, useAction } from "../ui";

export function TaskDetail({ id }: { id: string }) {
	const known = useSignal(gallery).items.find((task) => task.id === id);
	const [fetched, setFetched] = useState<Task | null>(null);
	const [error, setError] = useState<unknown>(null);
	const task = known ?? fetched;

	// Re-read while it runs unless the gallery (kept live) already follows it.
	useEffect(() => {
		let timer: ReturnType<typeof setTimeout> | undefined;
		let stopped = false;
		const read = async () => {
			try {
				const current = await tasks.fetch(id);
				if (stopped) return;
				setFetched(current);
				upsert(current);
				if (!isFinished(current)) timer = setTimeout(read, 1500);
			} catch (caught) {
				if (!stopped) setError(caught);
			}
		};
		void read();
		return () => {
			stopped = true;
			clearTimeout(timer);
		};
	}, [id]);

	if (!task)
		return (
			<section class="panel detail">
				<p>
					<a href="#/">← {t("back")}</a>
				</p>
				{error ? (
					<>
						<p class="hint" data-testid="no-such-task">
							{t("noSuchTask", { id })}
						</p>
						<ErrorNote error={error} />
					</>
				) : (
					<p class="hint">{t("loading")}</p>
				)}
			</section>
		);
	const properties = task.properties ?? {};
	const rows: [string, unknown][] = [
		["id", task.id],
		["action", task.action],
		["status", task.status],
		["progress", task.progress],
		["customId", task.customId],
		["botType", task.botType],
		["mode", task.mode],
		["prompt", task.prompt],
		["promptEn", task.promptEn],
		["description", task.description],
		["imageUrl", task.imageUrl],
		["videoUrl", task.videoUrl],
		...Object.entries(properties).map(([name, value]): [string, unknown] => [`properties.${name}`, value]),
	];

	return (
		<section class="panel detail" data-task-id={task.id}>
			<p>
				<a href="#/">← {t("back")}</a>
			</p>
			<div class="detail-top">
				<div class="media">
					<Media task={task} />
				</div>
				<div>
					<h2>
						{actionName(task.action)} <StatusBadge task={task} />
					</h2>
					<Progress task={task} />
					<h3>{t("promptAsRun")}</h3>
					<pre class="prompt-run">{String(properties.finalPrompt || task.promptEn || task.prompt)}</pre>
					{task.failReason && (
						<>
							<h3>{t("failReason")}</h3>
							<p class="error">{localizeReason(task.failReason)}</p>
						</>
					)}
					<h3>{t("times")}</h3>
					<dl class="times">
						<dt>{t("submittedAt")}</dt>
						<dd>{formatTime(task.submitTime)}</dd>
						<dt>{t("startedAt")}</dt>
						<dd>{formatTime(task.startTime)}</dd>
						<dt>{t("finishedAt")}</dt>
						<dd>{formatTime(task.finishTime)}</dd>
					</dl>
				</div>
			</div>
			<table class="fields">
				<thead>
					<tr>
						<th>{t("field")}</th>
						<th>{t("value")}</th>
					</tr>
				</thead>
				<tbody>
					{rows
						.filter(([, value]) => value !== undefined && value !== "")
						.map(([name, value]) => (
							<tr key={name}>
								<th>{name}</th>
								<td>{typeof value === "string" ? value : JSON.stringify(value)}</td>
							</tr>
						))}
					<tr>
						<th>buttons</th>
						<td>{(task.buttons ?? []).map((button) => button.label || button.emoji).join(" · ")}</td>
					</tr>
				</tbody>
			</table>
			<Deliveries taskId={task.id} />
		</section>
	);
}

/** The callbacks of this task; hidden where the gateway has no delivery log. */
function Deliveries({ taskId }: { taskId: string }) {
	const [rows, setRows] = useState<Delivery[] | null | undefined>(undefined);
	const [error, setError] = useState<unknown>(null);
	const load = () =>
		account
			.deliveries(taskId)
			.then(setRows)
			.catch((caught) => {
				setError(caught);
				setRows(null);
			});
	useEffect(() => {
		void load();
	}, [taskId]);
	if (rows === undefined) return null;
	if (rows === null) return <ErrorNote error={error} />;
	return (
		<>
			<h3>{t("deliveries")}</h3>
			{rows.length === 0 ? (
				<p class="hint">{t("noDeliveries")}</p>
			) : (
				<table class="fields">
					<thead>
						<tr>
							<th>{t("outcome")}</th>
							<th>HTTP</th>
							<th>{t("attempts")}</th>
							<th>{t("times")}</th>
							<th />
						</tr>
					</thead>
					<tbody>
						{rows.map((row) => (
							<DeliveryRow key={`${row.eventId}-${row.attempt}-${row.at}`} row={row} onDone={load} />
						))}
					</tbody>
				</table>
			)}
		</>
	);
}

function DeliveryRow({ row, onDone }: { row: Delivery; onDone: () => void }) {
	const action = useAction();
	const [done, setDone] = useState(false);
	return (
		<tr>
			<td>
				{row.outcome}
				{row.error && <div class="hint">{row.error}</div>}
				{row.url && <div class="hint">{row.url}</div>}
			</td>
			<td>{row.status ?? ""}</td>
			<td>{row.attempt ?? ""}</td>
			<td>{formatTime(row.at, row.at && row.at < 1e11 ? "s" : "ms")}</td>
			<td>
				<BusyButton
					type="button"
					class="small"
					busy={action.busy}
					onClick={async () => {
						if (await action.run(() => account.redeliver(row.eventId).then(() => true))) {
							setDone(true);
							onDone();
						}
					}}
				>
					{done ? t("redelivered") : t("redeliver")}
				</BusyButton>
				<ErrorNote error={action.error} />
			</td>
		</tr>
	);
}
