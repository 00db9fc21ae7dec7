/** Channels: relays and Discord accounts, their weight, secret, health and settings; a new one. */
import { useState } from "preact/hooks";
import { admin, type Channel } from "../../api";
import { t } from "../../i18n";
import { BusyButton, ErrorNote, formatTime, useAction, useRows } from "../../ui";
import { DiscordSettingsForm } from "./discord-settings";
import { textField } from "./shared";

export function Channels() {
	const { rows: channels, error, reload } = useRows(admin.channels);
	return (
		<section class="panel">
			<h2>{t("channels")}</h2>
			<ErrorNote error={error} />
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
							<ChannelRow key={channel.id} channel={channel} onChange={reload} />
						))}
					</tbody>
				</table>
			)}
			<NewChannel onCreated={reload} />
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

function NewChannel({ onCreated }: { onCreated: () => void }) {
	const empty = { name: "", base_url: "", secret: "", weight: "1", guild_id: "", channel_id: "" };
	const [fields, setFields] = useState(empty);
	const [kind, setKind] = useState<"midjourney-proxy" | "discord">("midjourney-proxy");
	const action = useAction();
	const field = textField(fields, setFields);
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
