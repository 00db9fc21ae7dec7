/** Everyone's tasks, with filters; a task id opens its fields and picture below its row. */
import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
// The gateway's own list (src/vocabulary.ts is pure, so the console bundles it as it is).
import { TASK_ACTIONS } from "../../../../src/vocabulary";
import { type AdminTask, type AdminTaskFilter, admin } from "../../api";
import { actionName } from "../../components/task-card";
import { t } from "../../i18n";
import { BusyButton, ErrorNote, formatTime } from "../../ui";
import { LoadMore, textField, usePages } from "./shared";

const TASK_STATUS_CHOICES = ["NOT_START", "SUBMITTED", "MODAL", "IN_PROGRESS", "SUCCESS", "FAILURE", "CANCEL"] as const;

/** `datetime-local` input value → epoch seconds. */
const seconds = (value: string) => (value ? Math.floor(new Date(value).getTime() / 1000) : undefined);

export function AllTasks() {
	const [form, setForm] = useState({ mj_id: "", user: "", status: "", action: "", channel_id: "", from: "", to: "" });
	const [filter, setFilter] = useState<AdminTaskFilter>({});
	const [opened, setOpened] = useState<string | null>(null);
	const list = usePages(admin.tasks);
	const { load, total } = list;
	useEffect(() => {
		void load({}, null);
	}, []);

	function submit(event: Event) {
		event.preventDefault();
		const using: AdminTaskFilter = {
			mj_id: form.mj_id.trim() || undefined,
			user: form.user.trim() || undefined,
			status: (form.status || undefined) as AdminTaskFilter["status"],
			action: (form.action || undefined) as AdminTaskFilter["action"],
			channel_id: form.channel_id.trim() || undefined,
			start_timestamp: seconds(form.from),
			end_timestamp: seconds(form.to),
		};
		setFilter(using);
		void load(using, null);
	}
	const input = textField(form, setForm);

	return (
		<section class="panel">
			<h2>{t("allTasks")}</h2>
			<form class="row" onSubmit={submit}>
				<input {...input("mj_id")} placeholder={t("taskId")} aria-label={t("taskId")} />
				<input {...input("user")} placeholder={t("userSub")} aria-label={t("userSub")} />
				<select
					name="status"
					aria-label={t("status")}
					value={form.status}
					onChange={(event) => setForm({ ...form, status: event.currentTarget.value })}
				>
					<option value="">
						{t("status")}: {t("anyValue")}
					</option>
					{TASK_STATUS_CHOICES.map((status) => (
						<option key={status} value={status}>
							{t(`status.${status}`)}
						</option>
					))}
				</select>
				<select
					name="action"
					aria-label={t("action")}
					value={form.action}
					onChange={(event) => setForm({ ...form, action: event.currentTarget.value })}
				>
					<option value="">
						{t("action")}: {t("anyValue")}
					</option>
					{TASK_ACTIONS.map((action) => (
						<option key={action} value={action}>
							{actionName(action)}
						</option>
					))}
				</select>
				<input
					{...input("channel_id")}
					type="number"
					min={0}
					placeholder={t("channelId")}
					aria-label={t("channelId")}
				/>
				<label class="inline">
					{t("from")}
					<input {...input("from")} type="datetime-local" />
				</label>
				<label class="inline">
					{t("to")}
					<input {...input("to")} type="datetime-local" />
				</label>
				<BusyButton type="submit" busy={list.busy}>
					{t("filter")}
				</BusyButton>
			</form>
			<ErrorNote error={list.error} />
			{total !== null && <p class="hint">{t("total", { n: total })}</p>}
			<table class="fields">
				<thead>
					<tr>
						<th>{t("taskId")}</th>
						<th>{t("owner")}</th>
						<th>{t("channelId")}</th>
						<th>{t("action")}</th>
						<th>{t("status")}</th>
						<th>{t("prompt")}</th>
						<th>{t("charged")}</th>
						<th>{t("submittedAt")}</th>
					</tr>
				</thead>
				<tbody>
					{(list.items ?? []).map((task) => (
						<AdminTaskRow
							key={task.mj_id}
							task={task}
							open={opened === task.mj_id}
							onToggle={() => setOpened(opened === task.mj_id ? null : task.mj_id)}
							onOwner={(user) => {
								const using = { ...filter, user };
								setForm({ ...form, user });
								setFilter(using);
								void load(using, null);
							}}
						/>
					))}
				</tbody>
			</table>
			<LoadMore next={list.next} busy={list.busy} onMore={(cursor) => load(filter, cursor)} />
		</section>
	);
}

/**
 * A row of everyone's tasks: the owner's sub (filters the table to that user), and the task id,
 * which opens the task's fields and picture below the row (another user's task has no page of
 * its own in the console: /mj/task/{id}/fetch answers only its owner).
 */
function AdminTaskRow({
	task,
	open,
	onToggle,
	onOwner,
}: {
	task: AdminTask;
	open: boolean;
	onToggle: () => void;
	onOwner: (sub: string) => void;
}) {
	const fields: [string, unknown][] = Object.entries(task).filter(([, value]) => value !== "" && value !== null);
	return (
		<>
			<tr>
				<td>
					<button type="button" class="link" aria-expanded={open} onClick={onToggle} title={task.mj_id}>
						<code>{task.mj_id.slice(0, 10)}</code>
					</button>
				</td>
				<td>
					{task.user ? (
						<button type="button" class="link" onClick={() => onOwner(task.user ?? "")}>
							{task.user}
						</button>
					) : (
						(task.user_id ?? "")
					)}
				</td>
				<td>{task.channel_id ?? ""}</td>
				<td>{task.action}</td>
				<td>
					{task.status} {task.status !== "SUCCESS" && task.progress}
					{task.fail_reason && <div class="hint">{task.fail_reason}</div>}
				</td>
				<td class="prompt">{task.prompt}</td>
				<td>{task.quota}</td>
				<td>{formatTime(task.submit_time, "s")}</td>
			</tr>
			{open && (
				<tr class="task-open" data-testid="admin-task-open">
					<td colSpan={8}>
						{task.image_url && (
							<a href={task.image_url} target="_blank" rel="noreferrer">
								<img src={task.image_url} alt={task.prompt} loading="lazy" class="admin-task-image" />
							</a>
						)}
						<dl class="facts">
							{fields.map(([name, value]) => (
								<Fragment key={name}>
									<dt>{name}</dt>
									<dd>{name.endsWith("_time") ? formatTime(Number(value), "s") : String(value)}</dd>
								</Fragment>
							))}
						</dl>
					</td>
				</tr>
			)}
		</>
	);
}
