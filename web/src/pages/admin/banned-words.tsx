/** Banned words: the phrases a prompt may not contain, with their hits. */
import { useState } from "preact/hooks";
import { admin } from "../../api";
import { t } from "../../i18n";
import { BusyButton, ErrorNote, formatTime, useAction, useRows } from "../../ui";

export function BannedWords() {
	const { rows: words, error, reload } = useRows(admin.bannedWords);
	const [word, setWord] = useState("");
	const add = useAction();
	const remove = useAction();
	async function submit(event: Event) {
		event.preventDefault();
		if (await add.run(() => admin.ban(word))) {
			setWord("");
			void reload();
		}
	}
	return (
		<section class="panel banned-words">
			<h2>{t("bannedWords")}</h2>
			<p class="hint">{t("bannedHint")}</p>
			<ErrorNote error={error} />
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
											if (await remove.run(() => admin.unban(row.word))) void reload();
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
