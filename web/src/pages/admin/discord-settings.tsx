/** A Discord account's settings, inside its channel row. */
import { useState } from "preact/hooks";
import { admin, type Channel, type ChannelChanges } from "../../api";
import { t } from "../../i18n";
import { BusyButton, ErrorNote, useAction } from "../../ui";
import { textField } from "./shared";

type DiscordSettings = NonNullable<Channel["discord"]>;
type DiscordChanges = NonNullable<ChannelChanges["discord"]>;
const MODES = ["fast", "relax", "turbo"] as const;

/** A discord account's settings; only what the admin changed is sent, so an unset mode stays unset. */
export function DiscordSettingsForm({
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
	const field = textField(fields, setFields);
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
