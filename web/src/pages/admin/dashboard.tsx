/**
 * The admins' home: how the service is doing, from GET /api/admin/stats (rollups, so the page
 * costs the same at any number of tasks). Polled every 10 s while the tab is visible, and at
 * once when it becomes visible again; the stats are not on the task streams, which carry one
 * user's tasks.
 */
import { useEffect, useState } from "preact/hooks";
import { type AdminStats, admin } from "../../api";
import { CategoryChart, TimeChart } from "../../components/chart";
import { lang, t, type Words } from "../../i18n";
import { ErrorNote } from "../../ui";

const REFRESH_MS = 10_000;
const HOURS = 24;
const DAYS = 30;

const COLORS = {
	submitted: "#4b5bdc",
	succeeded: "#1f8a4c",
	failed: "#c0392b",
	cancelled: "#b7791f",
	spent: "#7a4bdc",
};
const STATUSES = ["submitted", "succeeded", "failed", "cancelled"] as const;

function useStats(): { stats: AdminStats | null; error: unknown } {
	const [stats, setStats] = useState<AdminStats | null>(null);
	const [error, setError] = useState<unknown>(null);
	useEffect(() => {
		let stopped = false;
		const load = async () => {
			try {
				const next = await admin.stats({
					hours: String(HOURS),
					days: String(DAYS),
					utc_offset: String(-new Date().getTimezoneOffset()),
				});
				if (!stopped) {
					setStats(next);
					setError(null);
				}
			} catch (caught) {
				if (!stopped) setError(caught);
			}
		};
		const whenVisible = () => {
			if (document.visibilityState === "visible") void load();
		};
		void load();
		const timer = setInterval(whenVisible, REFRESH_MS);
		document.addEventListener("visibilitychange", whenVisible);
		return () => {
			stopped = true;
			clearInterval(timer);
			document.removeEventListener("visibilitychange", whenVisible);
		};
	}, []);
	return { stats, error };
}

function locale(): string {
	return lang.get() === "zh" ? "zh-CN" : "en";
}

function formatNumber(value: number): string {
	return value.toLocaleString(locale());
}

function formatRate(rate: number | null): string {
	return rate == null ? "—" : `${(rate * 100).toLocaleString(locale(), { maximumFractionDigits: 1 })}%`;
}

/** 850 ms, 12.5 s, 3 min 20 s, 1 h 5 min. */
export function formatDuration(ms: number): string {
	if (ms < 1000) return `${Math.round(ms)} ms`;
	const seconds = ms / 1000;
	if (seconds < 60) return `${seconds.toLocaleString(locale(), { maximumFractionDigits: 1 })} s`;
	const minutes = Math.floor(seconds / 60);
	if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
	return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

type Totals = AdminStats["totals"]["last_hours"];

function Summary({ period, title, totals }: { period: "hours" | "days"; title: string; totals: Totals }) {
	const tiles: [string, Words, string, number | null][] = [
		...STATUSES.map((key): [string, Words, string, number] => [
			key,
			`dash.${key}`,
			formatNumber(totals[key]),
			totals[key],
		]),
		["success_rate", "dash.successRate", formatRate(totals.success_rate), totals.success_rate],
		["spent", "dash.spent", formatNumber(totals.spent), totals.spent],
	];
	return (
		<div class="summary" data-period={period}>
			<h3>{title}</h3>
			<dl>
				{tiles.map(([key, word, text, value]) => (
					<div key={key} class={`tile ${key}`}>
						<dt>{t(word)}</dt>
						<dd data-stat={key} data-value={value ?? ""}>
							{text}
						</dd>
					</div>
				))}
			</dl>
		</div>
	);
}

function Figure({ title, children }: { title: string; children: preact.ComponentChildren }) {
	return (
		<figure class="figure">
			<figcaption>{title}</figcaption>
			{children}
		</figure>
	);
}

function statusSeries(points: AdminStats["per_hour"]) {
	return STATUSES.map((key) => ({ label: t(`dash.${key}`), color: COLORS[key], values: points.map((p) => p[key]) }));
}

export function Dashboard() {
	const { stats, error } = useStats();
	return (
		<section class="panel dashboard">
			<h2>{t("dash.title")}</h2>
			<ErrorNote error={error} />
			{stats && <Figures stats={stats} />}
		</section>
	);
}

function Figures({ stats }: { stats: AdminStats }) {
	const { actions, channels, busiest_users: users } = stats;
	return (
		<>
			<p class="hint">
				{t("dash.updated", { time: new Date(stats.generated_at * 1000).toLocaleTimeString(locale()) })}
			</p>
			<div class="summaries">
				<Summary period="hours" title={t("dash.lastHours", { n: stats.hours })} totals={stats.totals.last_hours} />
				<Summary period="days" title={t("dash.lastDays", { n: stats.days })} totals={stats.totals.last_days} />
			</div>
			<div class="figures">
				<Figure title={t("dash.perHour")}>
					<TimeChart name="per-hour" times={stats.per_hour.map((p) => p.start)} series={statusSeries(stats.per_hour)} />
				</Figure>
				<Figure title={t("dash.perDay")}>
					<TimeChart
						name="per-day"
						days
						times={stats.per_day.map((p) => p.start)}
						series={statusSeries(stats.per_day)}
					/>
				</Figure>
				<Figure title={t("dash.spentPerDay")}>
					<TimeChart
						name="spent"
						days
						times={stats.per_day.map((p) => p.start)}
						series={[{ label: t("dash.spent"), color: COLORS.spent, values: stats.per_day.map((p) => p.spent) }]}
					/>
				</Figure>
				<Figure title={t("dash.durations", { n: stats.days })}>
					{actions.length === 0 ? (
						<p class="hint">{t("dash.nothing")}</p>
					) : (
						<CategoryChart
							name="durations"
							label={t("dash.action")}
							categories={actions.map((a) => a.action)}
							format={formatDuration}
							series={[
								{ label: "p50", color: COLORS.submitted, values: actions.map((a) => a.p50_ms ?? 0) },
								{ label: "p95", color: COLORS.cancelled, values: actions.map((a) => a.p95_ms ?? 0) },
							]}
						/>
					)}
				</Figure>
				<Figure title={t("dash.channels", { n: stats.days })}>
					{channels.length === 0 ? (
						<p class="hint">{t("dash.nothing")}</p>
					) : (
						<>
							<CategoryChart
								name="channels"
								label={t("dash.channel")}
								categories={channels.map((c) => c.name)}
								series={[
									{ label: t("dash.tasks"), color: COLORS.submitted, values: channels.map((c) => c.tasks) },
									{ label: t("dash.failures"), color: COLORS.failed, values: channels.map((c) => c.failures) },
								]}
							/>
							<ul class="channel-states">
								{channels
									.filter((c) => !c.enabled)
									.map((c) => (
										<li key={c.id} data-channel={c.name}>
											<strong>{c.name}</strong> {t("dash.disabled", { reason: c.disabled_reason })}
										</li>
									))}
							</ul>
						</>
					)}
				</Figure>
				{(
					[
						["busiest-today", "dash.busiestToday", users.today],
						["busiest-all-time", "dash.busiestAllTime", users.all_time],
					] as const
				).map(([name, title, list]) => (
					<Figure key={name} title={t(title)}>
						{list.length === 0 ? (
							<p class="hint">{t("dash.nothing")}</p>
						) : (
							<CategoryChart
								name={name}
								label={t("dash.user")}
								categories={list.map((u) => u.sub)}
								series={[
									{ label: t("dash.spent"), color: COLORS.spent, values: list.map((u) => u.spent) },
									{
										label: t("dash.tasks"),
										color: COLORS.submitted,
										values: list.map((u) => u.tasks),
										axis: "right",
									},
								]}
							/>
						)}
					</Figure>
				))}
			</div>
		</>
	);
}
