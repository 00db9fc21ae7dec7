/** Admins only: the dashboard, channels and their health, banned words and their hits, users and their quota, everyone's tasks with filters. */
import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import { TASK_ACTIONS } from "../../../src/vocabulary";
import {
	type AdminTask,
	type AdminTaskFilter,
	type AdminUser,
	admin,
	type BannedWord,
	type Channel,
	type ChannelChanges,
	type Self,
} from "../api";
import { actionName } from "../components/task-card";
import { known, t } from "../i18n";
import { BusyButton, ErrorNote, formatTime, useAction } from "../ui";
import { Dashboard } from "./dashboard";

const roleName = (role: string) => known(`role.${role}`, role);

export function Admin() {
	return (
		<>
			<Dashboard />
			<Channels />
			<BannedWords />
			<Users />
			<AllTasks />
		</>
	);
}

function Channels() {
	const [channels, setChannels] = useState<Channel[] | null>(null);
	const list = useAction();
	const load = () => list.run(admin.channels).then((rows) => rows && setChannels(rows));
	useEffect(() => {
		void load();
	}, []);
	return (
		<section class="panel">
			<h2>{t("channels")}</h2>
			<ErrorNote error={list.error} />
			{channels && (
				<table class="fields channels">
					<thead>
						<tr>
							<th>{t("name")}</th>
							<th>{t("baseUrl")}</th>
							<th>{t("weight")}</th>
							<th>{t("secret")}</th>
							<th>{t("health")}</th>
							<th>{t("enabled")}</th>
						</tr>
					</thead>
					<tbody>
						{channels.map((channel) => (
							<ChannelRow key={channel.id} channel={channel} onChange={load} />
						))}
					</tbody>
				</table>
			)}
			<NewChannel onCreated={load} />
		</section>
	);
}

function ChannelRow({ channel, onChange }: { channel: Channel; onChange: () => void }) {
	const [weight, setWeight] = useState(String(channel.weight));
	const [secret, setSecret] = useState("");
	const save = useAction();
	const toggle = useAction();
	async function submit(event: Event) {
		event.preventDefault();
		const changes = { weight: Number(weight), ...(secret ? { secret } : {}) };
		if (await save.run(() => admin.updateChannel(channel.id, changes))) {
			setSecret("");
			onChange();
		}
	}
	return (
		<tr data-channel={channel.name} class={channel.enabled ? "" : "off"}>
			<td>{channel.name}</td>
			<td class="url">{channel.base_url}</td>
			<td colSpan={2}>
				<form class="row" onSubmit={submit}>
					<input
						type="number"
						name="weight"
						min={0}
						max={1000}
						aria-label={t("weight")}
						value={weight}
						onInput={(event) => setWeight(event.currentTarget.value)}
					/>
					<input
						type="password"
						name="secret"
						autoComplete="off"
						aria-label={t("newSecret")}
						placeholder={t("newSecret")}
						value={secret}
						onInput={(event) => setSecret(event.currentTarget.value)}
					/>
					<BusyButton type="submit" class="small" busy={save.busy}>
						{t("save")}
					</BusyButton>
				</form>
				<ErrorNote error={save.error} />
				{channel.discord && <DiscordSettingsForm id={channel.id} settings={channel.discord} onSaved={onChange} />}
			</td>
			<td>
				{channel.kind === "discord" && (
					<dl class="facts" data-field="discord-state">
						<dt>{t("connection")}</dt>
						<dd data-field="connection">{channel.connection}</dd>
						<dt>{t("runningWaiting")}</dt>
						<dd data-field="load">
							{channel.running} / {channel.waiting}
							{channel.discord &&
								` (${t("ofMost", { running: channel.discord.concurrency, waiting: channel.discord.queue_size })})`}
						</dd>
						<dt>{t("mode")}</dt>
						<dd>{channel.mode}</dd>
						{channel.fast_time_remaining && (
							<>
								<dt>{t("fastTimeLeft")}</dt>
								<dd>{channel.fast_time_remaining}</dd>
							</>
						)}
						{channel.last_heard_at != null && (
							<>
								<dt>{t("lastHeard")}</dt>
								<dd>{formatTime(channel.last_heard_at, "s")}</dd>
							</>
						)}
						{channel.last_error && (
							<>
								<dt>{t("lastError")}</dt>
								<dd data-field="last-error">{channel.last_error}</dd>
							</>
						)}
					</dl>
				)}
				{channel.failure_count} {t("failures")}
				{channel.disabled_reason && (
					<div class="hint" data-field="disabled-reason">
						{t("disabledReason")}: {channel.disabled_reason}
					</div>
				)}
			</td>
			<td>
				<BusyButton
					type="button"
					class={channel.enabled ? "small danger" : "small"}
					busy={toggle.busy}
					data-toggle="enabled"
					onClick={async () => {
						if (await toggle.run(() => admin.updateChannel(channel.id, { enabled: !channel.enabled }))) onChange();
					}}
				>
					{channel.enabled ? t("disable") : t("enable")}
				</BusyButton>
				<ErrorNote error={toggle.error} />
			</td>
		</tr>
	);
}

type DiscordSettings = NonNullable<Channel["discord"]>;
type DiscordChanges = NonNullable<ChannelChanges["discord"]>;
const MODES = ["fast", "relax", "turbo"] as const;

/** A discord account's settings; only what the admin changed is sent, so an unset mode stays unset. */
function DiscordSettingsForm({
	id,
	settings,
	onSaved,
}: {
	id: number;
	settings: DiscordSettings;
	onSaved: () => void;
}) {
	const initial = {
		concurrency: String(settings.concurrency),
		queue_size: String(settings.queue_size),
		mode: settings.mode ?? "",
		user_agent: settings.user_agent,
		api_base: settings.api_base,
		activity_base: settings.activity_base,
		describe_by_upload: settings.describe_by_upload,
		dm_channel_id: settings.dm_channel_id ?? "",
		niji_dm_channel_id: settings.niji_dm_channel_id ?? "",
	};
	const [fields, setFields] = useState(initial);
	const save = useAction();
	const field = (name: Exclude<keyof typeof fields, "mode" | "describe_by_upload">) => ({
		name,
		value: fields[name],
		onInput: (event: { currentTarget: HTMLInputElement }) =>
			setFields({ ...fields, [name]: event.currentTarget.value }),
	});
	async function submit(event: Event) {
		event.preventDefault();
		const changes: DiscordChanges = {};
		if (fields.concurrency !== initial.concurrency) changes.concurrency = Number(fields.concurrency);
		if (fields.queue_size !== initial.queue_size) changes.queue_size = Number(fields.queue_size);
		const mode = MODES.find((m) => m === fields.mode);
		if (mode && mode !== settings.mode) changes.mode = mode;
		if (fields.user_agent.trim() !== initial.user_agent) changes.user_agent = fields.user_agent.trim();
		if (fields.api_base.trim() !== initial.api_base) changes.api_base = fields.api_base.trim();
		if (fields.activity_base.trim() !== initial.activity_base) changes.activity_base = fields.activity_base.trim();
		if (fields.describe_by_upload !== initial.describe_by_upload)
			changes.describe_by_upload = fields.describe_by_upload;
		// Empty clears a DM channel id.
		if (fields.dm_channel_id.trim() !== initial.dm_channel_id) changes.dm_channel_id = fields.dm_channel_id.trim();
		if (fields.niji_dm_channel_id.trim() !== initial.niji_dm_channel_id)
			changes.niji_dm_channel_id = fields.niji_dm_channel_id.trim();
		if (Object.keys(changes).length === 0) return;
		if (await save.run(() => admin.updateChannel(id, { discord: changes }))) onSaved();
	}
	return (
		<details class="discord-settings">
			<summary>{t("accountSettings")}</summary>
			<form class="facts-form" onSubmit={submit}>
				<label>
					{t("concurrency")}
					<input {...field("concurrency")} type="number" min={1} max={15} required />
				</label>
				<label>
					{t("queueSize")}
					<input {...field("queue_size")} type="number" min={0} max={100} required />
				</label>
				<label>
					{t("mode")}
					<select
						name="mode"
						value={fields.mode}
						onChange={(event) => setFields({ ...fields, mode: event.currentTarget.value })}
					>
						{!settings.mode && <option value="">{t("modeUnset")}</option>}
						{MODES.map((m) => (
							<option key={m} value={m}>
								{t(m)}
							</option>
						))}
					</select>
				</label>
				<label>
					{t("userAgent")}
					<input {...field("user_agent")} maxLength={512} required />
				</label>
				<label>
					{t("apiBase")}
					<input {...field("api_base")} type="url" required />
				</label>
				<label>
					{t("activityBase")}
					<input {...field("activity_base")} type="url" required />
				</label>
				<label>
					{t("dmChannelId")}
					<input {...field("dm_channel_id")} inputMode="numeric" />
				</label>
				<label>
					{t("nijiDmChannelId")}
					<input {...field("niji_dm_channel_id")} inputMode="numeric" />
				</label>
				<label>
					{t("describeByUpload")}
					<input
						type="checkbox"
						name="describe_by_upload"
						checked={fields.describe_by_upload}
						onChange={(event) => setFields({ ...fields, describe_by_upload: event.currentTarget.checked })}
					/>
				</label>
				<BusyButton type="submit" class="small save-settings" busy={save.busy}>
					{t("saveSettings")}
				</BusyButton>
				<ErrorNote error={save.error} />
			</form>
		</details>
	);
}

function NewChannel({ onCreated }: { onCreated: () => void }) {
	const empty = { name: "", base_url: "", secret: "", weight: "1", guild_id: "", channel_id: "" };
	const [fields, setFields] = useState(empty);
	const [kind, setKind] = useState<"midjourney-proxy" | "discord">("midjourney-proxy");
	const action = useAction();
	const field = (name: keyof typeof fields) => ({
		name,
		value: fields[name],
		onInput: (event: { currentTarget: HTMLInputElement }) =>
			setFields({ ...fields, [name]: event.currentTarget.value }),
	});
	async function submit(event: Event) {
		event.preventDefault();
		const common = { name: fields.name, secret: fields.secret, weight: Number(fields.weight) };
		const created = await action.run(() =>
			admin.createChannel(
				kind === "discord"
					? { ...common, kind, discord: { guild_id: fields.guild_id.trim(), channel_id: fields.channel_id.trim() } }
					: { ...common, base_url: fields.base_url },
			),
		);
		if (created) {
			setFields(empty);
			onCreated();
		}
	}
	return (
		<form class="row new-channel" onSubmit={submit}>
			<select
				name="kind"
				aria-label="kind"
				value={kind}
				onChange={(event) => setKind(event.currentTarget.value === "discord" ? "discord" : "midjourney-proxy")}
			>
				<option value="midjourney-proxy">{t("kindRelay")}</option>
				<option value="discord">{t("kindDiscord")}</option>
			</select>
			<input {...field("name")} placeholder={t("name")} aria-label={t("name")} required />
			{kind === "discord" ? (
				<>
					<input
						{...field("guild_id")}
						inputMode="numeric"
						placeholder={t("guildId")}
						aria-label={t("guildId")}
						required
					/>
					<input
						{...field("channel_id")}
						inputMode="numeric"
						placeholder={t("discordChannelId")}
						aria-label={t("discordChannelId")}
						required
					/>
					<input
						{...field("secret")}
						type="password"
						autoComplete="off"
						placeholder={t("userToken")}
						aria-label={t("userToken")}
						required
					/>
				</>
			) : (
				<>
					<input {...field("base_url")} type="url" placeholder="https://…" aria-label={t("baseUrl")} required />
					<input {...field("secret")} type="password" placeholder={t("secret")} aria-label={t("secret")} />
				</>
			)}
			<input {...field("weight")} type="number" min={0} aria-label={t("weight")} />
			<BusyButton type="submit" busy={action.busy}>
				{t("addChannel")}
			</BusyButton>
			<ErrorNote error={action.error} />
		</form>
	);
}

function BannedWords() {
	const [words, setWords] = useState<BannedWord[] | null>(null);
	const [word, setWord] = useState("");
	const list = useAction();
	const add = useAction();
	const remove = useAction();
	const load = () => list.run(admin.bannedWords).then((rows) => rows && setWords(rows));
	useEffect(() => {
		void load();
	}, []);
	async function submit(event: Event) {
		event.preventDefault();
		if (await add.run(() => admin.ban(word))) {
			setWord("");
			void load();
		}
	}
	return (
		<section class="panel banned-words">
			<h2>{t("bannedWords")}</h2>
			<p class="hint">{t("bannedHint")}</p>
			<ErrorNote error={list.error} />
			{words && words.length === 0 && <p class="hint">{t("noBannedWords")}</p>}
			{words && words.length > 0 && (
				<table class="fields">
					<thead>
						<tr>
							<th>{t("bannedWord")}</th>
							<th>{t("hits")}</th>
							<th>{t("lastHit")}</th>
							<th>{t("source")}</th>
							<th />
						</tr>
					</thead>
					<tbody>
						{words.map((row) => (
							<tr key={row.word} data-banned-word={row.word}>
								<td>{row.word}</td>
								<td data-field="hits">{row.hits}</td>
								<td>{row.last_hit_at ? formatTime(row.last_hit_at, "s") : t("never")}</td>
								<td>{row.source}</td>
								<td>
									<BusyButton
										type="button"
										class="small danger"
										busy={remove.busy}
										onClick={async () => {
											if (await remove.run(() => admin.unban(row.word))) void load();
										}}
									>
										{t("unban")}
									</BusyButton>
								</td>
							</tr>
						))}
					</tbody>
				</table>
			)}
			<ErrorNote error={remove.error} />
			<form class="row" onSubmit={submit}>
				<input
					name="banned-word"
					value={word}
					maxLength={100}
					placeholder={t("bannedWord")}
					aria-label={t("bannedWord")}
					onInput={(event) => setWord(event.currentTarget.value)}
					required
				/>
				<BusyButton type="submit" busy={add.busy}>
					{t("ban")}
				</BusyButton>
				<ErrorNote error={add.error} />
			</form>
		</section>
	);
}

/** Users: the list (newest, most spent, or subs starting with…), a new user, and the one opened. */
function Users() {
	const [query, setQuery] = useState({ q: "", order: "newest" as "newest" | "spend" });
	const [items, setItems] = useState<AdminUser[] | null>(null);
	const [next, setNext] = useState<string | null>(null);
	const [user, setUser] = useState<Self | null>(null);
	const list = useAction();
	const lookUp = useAction();

	async function load(using: typeof query, cursor: string | null) {
		const q = using.q.trim();
		const page = await list.run(() =>
			admin.users({ ...(q ? { q } : { order: using.order }), ...(cursor ? { cursor } : {}) }),
		);
		if (!page) return;
		setItems((current) => (cursor && current ? [...current, ...page.items] : page.items));
		setNext(page.next_cursor);
	}
	useEffect(() => {
		void load(query, null);
	}, []);
	async function open(sub: string) {
		setUser((await lookUp.run(() => admin.user(sub))) ?? null);
	}
	function changed(next: Self) {
		setUser(next);
		setItems((current) => current?.map((item) => (item.sub === next.sub ? { ...item, ...next } : item)) ?? null);
	}

	return (
		<section class="panel" data-section="users">
			<h2>{t("users")}</h2>
			<NewUser
				onCreated={(created) => {
					setUser(created);
					void load(query, null);
				}}
			/>
			<form
				class="row"
				onSubmit={(event) => {
					event.preventDefault();
					void load(query, null);
				}}
			>
				<input
					name="q"
					aria-label={t("searchSubs")}
					placeholder={t("searchSubs")}
					maxLength={128}
					value={query.q}
					onInput={(event) => setQuery({ ...query, q: event.currentTarget.value })}
				/>
				<select
					name="order"
					aria-label={t("order")}
					value={query.order}
					disabled={query.q.trim() !== ""}
					onChange={(event) => {
						const using = { ...query, order: event.currentTarget.value as "newest" | "spend" };
						setQuery(using);
						void load(using, null);
					}}
				>
					<option value="newest">{t("orderNewest")}</option>
					<option value="spend">{t("orderSpend")}</option>
				</select>
				<BusyButton type="submit" busy={list.busy}>
					{t("filter")}
				</BusyButton>
			</form>
			<ErrorNote error={list.error} />
			{items && items.length === 0 && <p class="hint">{t("noUsers")}</p>}
			{items && items.length > 0 && (
				<table class="fields" data-testid="user-list">
					<thead>
						<tr>
							<th>{t("userSub")}</th>
							<th>{t("role")}</th>
							<th>{t("quota")}</th>
							<th>{t("spent")}</th>
							<th>{t("tasksCount")}</th>
							<th>{t("state")}</th>
							<th>{t("createdAt")}</th>
						</tr>
					</thead>
					<tbody>
						{items.map((item) => (
							<tr key={item.sub} class={item.disabled ? "disabled" : ""}>
								<td>
									<button type="button" class="link" onClick={() => open(item.sub)}>
										{item.sub}
									</button>
								</td>
								<td data-field="role">{roleName(item.role)}</td>
								<td data-field="quota">{item.quota}</td>
								<td data-field="spent">{item.spent}</td>
								<td>{item.task_count}</td>
								<td data-field="state">{item.disabled ? t("disabled") : t("active")}</td>
								<td>{formatTime(item.created_at, "s")}</td>
							</tr>
						))}
					</tbody>
				</table>
			)}
			{next && (
				<BusyButton type="button" busy={list.busy} onClick={() => load(query, next)}>
					{t("loadMore")}
				</BusyButton>
			)}
			<ErrorNote error={lookUp.error} />
			{user && <UserCard key={user.sub} user={user} onChange={changed} />}
		</section>
	);
}

function NewUser({ onCreated }: { onCreated: (user: Self) => void }) {
	const [form, setForm] = useState({ sub: "", role: "user" as "user" | "admin", quota: "0" });
	const create = useAction();
	async function submit(event: Event) {
		event.preventDefault();
		const created = await create.run(() =>
			admin.createUser({ sub: form.sub.trim(), role: form.role, quota: Number(form.quota) }),
		);
		if (created) {
			setForm({ sub: "", role: "user", quota: "0" });
			onCreated(created);
		}
	}
	return (
		<>
			<form class="row" onSubmit={submit} data-testid="new-user">
				<strong>{t("newUser")}</strong>
				<input
					name="new-sub"
					aria-label={t("userSub")}
					placeholder={t("userSub")}
					maxLength={128}
					required
					value={form.sub}
					onInput={(event) => setForm({ ...form, sub: event.currentTarget.value })}
				/>
				<select
					name="new-role"
					aria-label={t("role")}
					value={form.role}
					onChange={(event) => setForm({ ...form, role: event.currentTarget.value as "user" | "admin" })}
				>
					<option value="user">{t("role.user")}</option>
					<option value="admin">{t("role.admin")}</option>
				</select>
				<label class="inline">
					{t("startingQuota")}
					<input
						type="number"
						name="new-quota"
						min={0}
						value={form.quota}
						onInput={(event) => setForm({ ...form, quota: event.currentTarget.value })}
					/>
				</label>
				<BusyButton type="submit" busy={create.busy}>
					{t("createUser")}
				</BusyButton>
			</form>
			<ErrorNote error={create.error} />
		</>
	);
}

/** One user: balance, an API key made for it (shown once), disable or enable. */
function UserCard({ user, onChange }: { user: Self; onChange: (user: Self) => void }) {
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
			{key && (
				<div class="once">
					<p>{t("keyForUser", { sub: user.sub })}</p>
					<code data-testid="user-key">{key}</code>
					<button
						type="button"
						class="small"
						onClick={() => navigator.clipboard?.writeText(key).catch(() => undefined)}
					>
						{t("copy")}
					</button>
				</div>
			)}
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

const TASK_STATUS_CHOICES = ["NOT_START", "SUBMITTED", "MODAL", "IN_PROGRESS", "SUCCESS", "FAILURE", "CANCEL"] as const;
/** The gateway's own list (src/tasks/actions.ts is pure, so the console bundles it as it is). */
const TASK_ACTION_CHOICES = TASK_ACTIONS;

/** `datetime-local` input value → epoch seconds. */
const seconds = (value: string) => (value ? Math.floor(new Date(value).getTime() / 1000) : undefined);

function AllTasks() {
	const [form, setForm] = useState({ mj_id: "", user: "", status: "", action: "", channel_id: "", from: "", to: "" });
	const [filter, setFilter] = useState<AdminTaskFilter>({});
	const [items, setItems] = useState<AdminTask[]>([]);
	const [total, setTotal] = useState<number | null>(null);
	const [next, setNext] = useState<string | null>(null);
	const [opened, setOpened] = useState<string | null>(null);
	const action = useAction();

	async function load(using: AdminTaskFilter, cursor: string | null) {
		const page = await action.run(() => admin.tasks(using, cursor));
		if (!page) return;
		setItems((current) => (cursor ? [...current, ...page.items] : page.items));
		setTotal(page.total);
		setNext(page.next_cursor);
	}
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
	const input = (name: keyof typeof form) => ({
		name,
		value: form[name],
		onInput: (event: { currentTarget: HTMLInputElement }) => setForm({ ...form, [name]: event.currentTarget.value }),
	});

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
					{TASK_ACTION_CHOICES.map((action) => (
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
				<BusyButton type="submit" busy={action.busy}>
					{t("filter")}
				</BusyButton>
			</form>
			<ErrorNote error={action.error} />
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
					{items.map((task) => (
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
			{next && (
				<BusyButton type="button" busy={action.busy} onClick={() => load(filter, next)}>
					{t("loadMore")}
				</BusyButton>
			)}
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
