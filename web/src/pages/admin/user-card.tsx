import { useState } from "preact/hooks";
import { admin, type Self } from "../../api";
import { KeyOnce } from "../../components/key-once";
import { roleName, t } from "../../i18n";
import { BusyButton, ErrorNote, useAction } from "../../ui";

/** One user: balance, an API key made for it (shown once), disable or enable. */
export function UserCard({ user, onChange }: { user: Self; onChange: (user: Self) => void }) {
	const [amount, setAmount] = useState("1000");
	const [keyName, setKeyName] = useState("");
	const [key, setKey] = useState<string | null>(null);
	const [tasks, setTasks] = useState<"finish" | "cancel">("finish");
	const [outcome, setOutcome] = useState<{ cancelled: number; remaining: boolean } | null>(null);
	const grant = useAction();
	const issue = useAction();
	const access = useAction();
	async function change(kind: "delta" | "quota") {
		const value = Number(amount);
		const next = await grant.run(() =>
			admin.setQuota(user.sub, kind === "delta" ? { delta: value } : { quota: value }),
		);
		if (next) onChange(next);
	}
	async function makeKey(event: Event) {
		event.preventDefault();
		const created = await issue.run(() => admin.userKey(user.sub, keyName.trim()));
		if (created) {
			setKey(created.key);
			setKeyName("");
		}
	}
	async function disable() {
		const answer = await access.run(() => admin.disable(user.sub, tasks));
		if (!answer) return;
		const { cancelled, remaining, ...next } = answer;
		setOutcome({ cancelled, remaining });
		// The answer's balance is from before the cancelled tasks were refunded: read it again.
		onChange(cancelled > 0 ? ((await access.run(() => admin.user(user.sub))) ?? next) : next);
	}
	async function enable() {
		const next = await access.run(() => admin.enable(user.sub));
		if (next) {
			setOutcome(null);
			onChange(next);
		}
	}
	return (
		<div class="user-card" data-testid="user-card">
			<dl class="facts">
				<dt>{t("userId")}</dt>
				<dd>{user.sub}</dd>
				<dt>{t("role")}</dt>
				<dd data-field="user-role">{roleName(user.role)}</dd>
				<dt>{t("quota")}</dt>
				<dd data-field="user-quota">{user.quota}</dd>
				<dt>{t("tasksCount")}</dt>
				<dd>{user.task_count}</dd>
				<dt>{t("state")}</dt>
				<dd data-field="user-state">{user.disabled ? t("disabled") : t("active")}</dd>
			</dl>
			<div class="row">
				<input
					type="number"
					name="amount"
					aria-label={t("amount")}
					value={amount}
					onInput={(event) => setAmount(event.currentTarget.value)}
				/>
				<BusyButton type="button" busy={grant.busy} onClick={() => change("delta")}>
					{t("grant")}
				</BusyButton>
				<BusyButton type="button" busy={grant.busy} onClick={() => change("quota")}>
					{t("setQuota")}
				</BusyButton>
			</div>
			<ErrorNote error={grant.error} />
			<form class="row" onSubmit={makeKey}>
				<input
					name="user-key-name"
					aria-label={t("keyName")}
					placeholder={t("keyName")}
					maxLength={64}
					required
					value={keyName}
					onInput={(event) => setKeyName(event.currentTarget.value)}
				/>
				<BusyButton type="submit" busy={issue.busy}>
					{t("issueKey")}
				</BusyButton>
			</form>
			<ErrorNote error={issue.error} />
			{key && <KeyOnce key={key} note={t("keyForUser", { sub: user.sub })} value={key} testId="user-key" />}
			{user.disabled ? (
				<div class="row">
					<span class="hint">{t("disabledNote")}</span>
					<BusyButton type="button" busy={access.busy} onClick={enable}>
						{t("enableUser")}
					</BusyButton>
				</div>
			) : (
				<div class="row">
					<select
						name="disable-tasks"
						aria-label={t("runningTasks")}
						value={tasks}
						onChange={(event) => setTasks(event.currentTarget.value as "finish" | "cancel")}
					>
						<option value="finish">{t("tasksFinish")}</option>
						<option value="cancel">{t("tasksCancel")}</option>
					</select>
					<BusyButton type="button" class="danger" busy={access.busy} onClick={disable}>
						{t("disableUser")}
					</BusyButton>
				</div>
			)}
			{outcome && outcome.cancelled > 0 && (
				<p class="hint">
					{outcome.cancelled === 1 ? t("cancelledTask") : t("cancelledTasks", { n: outcome.cancelled })}
				</p>
			)}
			{outcome?.remaining && (
				<p class="hint">
					{t("moreToCancel")}{" "}
					<BusyButton type="button" busy={access.busy} onClick={disable}>
						{t("disableUser")}
					</BusyButton>
				</p>
			)}
			<ErrorNote error={access.error} />
		</div>
	);
}
