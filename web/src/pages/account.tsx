/** The caller's account: quota, API keys (create, copy once, revoke), webhook secret (reveal, rotate). */
import { useEffect, useState } from "preact/hooks";
import { type ApiKey, account, type Self } from "../api";
import { KeyOnce } from "../components/key-once";
import { roleName, t } from "../i18n";
import { BusyButton, ErrorNote, formatTime, useAction, useRows } from "../ui";

export function Account({ self, onSelf }: { self: Self; onSelf: (self: Self) => void }) {
	useEffect(() => {
		account.self().then(onSelf, () => undefined);
	}, []);
	return (
		<>
			<section class="panel">
				<h2>{t("account")}</h2>
				<dl class="facts">
					<dt>{t("userId")}</dt>
					<dd data-field="sub">{self.sub}</dd>
					<dt>{t("role")}</dt>
					<dd>{roleName(self.role)}</dd>
					<dt>{t("quota")}</dt>
					<dd data-field="quota">{self.quota}</dd>
					<dt>{t("tasksCount")}</dt>
					<dd>{self.task_count}</dd>
					<dt>{t("since")}</dt>
					<dd>{formatTime(self.created_at, "s")}</dd>
				</dl>
			</section>
			<Keys />
			<WebhookSecret />
		</>
	);
}

function Keys() {
	const [name, setName] = useState("");
	const [created, setCreated] = useState<ApiKey | null>(null);
	const create = useAction();

	const { rows: keys, error: listError, reload: load } = useRows(account.keys);

	async function submit(event: Event) {
		event.preventDefault();
		const key = await create.run(() => account.createKey(name.trim()));
		if (!key) return;
		setCreated(key);
		setName("");
		void load();
	}

	return (
		<section class="panel">
			<h2>{t("apiKeys")}</h2>
			<form class="row" onSubmit={submit}>
				<input
					name="key-name"
					aria-label={t("keyName")}
					placeholder={t("keyName")}
					maxLength={64}
					required
					value={name}
					onInput={(event) => setName(event.currentTarget.value)}
				/>
				<BusyButton type="submit" busy={create.busy}>
					{t("newKey")}
				</BusyButton>
			</form>
			<ErrorNote error={create.error} />
			{created?.key && (
				<KeyOnce key={created.id} note={t("copyOnce")} value={created.key} testId="new-key" keyId={created.id} />
			)}
			<ErrorNote error={listError} />
			{keys && (
				<table class="fields">
					<thead>
						<tr>
							<th>{t("name")}</th>
							<th>{t("prefix")}</th>
							<th>{t("role")}</th>
							<th>{t("lastUsed")}</th>
							<th />
						</tr>
					</thead>
					<tbody>
						{keys.map((key) => (
							<KeyRow
								key={key.id}
								apiKey={key}
								onRevoked={() => {
									// The copy-once box is about this key: once it is revoked there is nothing to copy.
									if (created?.id === key.id) setCreated(null);
									void load();
								}}
							/>
						))}
					</tbody>
				</table>
			)}
		</section>
	);
}

function KeyRow({ apiKey, onRevoked }: { apiKey: ApiKey; onRevoked: () => void }) {
	const action = useAction();
	return (
		<tr data-key-id={apiKey.id}>
			<td>{apiKey.name}</td>
			<td>
				<code>{apiKey.prefix}…</code>
			</td>
			<td>{roleName(apiKey.role)}</td>
			<td>{apiKey.last_used_at ? formatTime(apiKey.last_used_at, "s") : t("never")}</td>
			<td>
				<BusyButton
					type="button"
					class="small danger"
					busy={action.busy}
					onClick={async () => {
						if (!confirm(t("revokeConfirm"))) return;
						if (await action.run(() => account.revokeKey(apiKey.id))) onRevoked();
					}}
				>
					{t("revoke")}
				</BusyButton>
				<ErrorNote error={action.error} />
			</td>
		</tr>
	);
}

/** Hidden where the gateway has no webhook secrets (the endpoint answers 404). */
function WebhookSecret() {
	const [available, setAvailable] = useState<boolean | null>(null);
	const [secret, setSecret] = useState<string | null>(null);
	const action = useAction();

	useEffect(() => {
		account.webhookSecret().then(
			(value) => setAvailable(value !== null),
			() => setAvailable(true),
		);
	}, []);
	if (!available) return null;

	return (
		<section class="panel">
			<h2>{t("webhookSecret")}</h2>
			<p class="hint">{t("webhookHint")}</p>
			<div class="row">
				<code data-testid="webhook-secret">{secret ?? "••••••••••••••••"}</code>
				<BusyButton
					type="button"
					class="small"
					busy={action.busy}
					onClick={() =>
						secret === null ? action.run(account.webhookSecret).then((v) => v && setSecret(v)) : setSecret(null)
					}
				>
					{secret === null ? t("reveal") : t("hide")}
				</BusyButton>
				<BusyButton
					type="button"
					class="small danger"
					busy={action.busy}
					onClick={() =>
						confirm(t("rotateConfirm")) && action.run(account.rotateWebhookSecret).then((v) => v && setSecret(v))
					}
				>
					{t("rotate")}
				</BusyButton>
			</div>
			<ErrorNote error={action.error} />
		</section>
	);
}
