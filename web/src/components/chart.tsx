/**
 * Charts drawn by uPlot (a canvas, no inline script or eval, its CSS bundled into console.css).
 * A chart is built once per shape (its series and categories, in the current language) and
 * only gets new data afterwards, so the dashboard's 10-second refresh does not redraw from
 * scratch; it follows its box's width.
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { lang, t } from "../i18n";

export interface Series {
	label: string;
	color: string;
	values: number[];
	/** "right": its own scale, on an axis at the right (a count beside an amount). */
	axis?: "right";
}

const HEIGHT = 220;

function Plot({
	name,
	shape,
	options,
	data,
}: {
	name: string;
	shape: string;
	options: () => Omit<uPlot.Options, "width" | "height">;
	data: uPlot.AlignedData;
}) {
	const box = useRef<HTMLDivElement>(null);
	const plot = useRef<uPlot | null>(null);
	const built = useRef("");
	useEffect(() => {
		const target = box.current;
		if (!target) return;
		if (plot.current && built.current === shape) {
			plot.current.setData(data);
			return;
		}
		plot.current?.destroy();
		plot.current = new uPlot({ ...options(), width: Math.max(200, target.clientWidth), height: HEIGHT }, data, target);
		built.current = shape;
	});
	useEffect(() => {
		const target = box.current;
		if (!target) return;
		const observer = new ResizeObserver(() => {
			if (plot.current && target.clientWidth > 0) plot.current.setSize({ width: target.clientWidth, height: HEIGHT });
		});
		observer.observe(target);
		return () => {
			observer.disconnect();
			plot.current?.destroy();
			plot.current = null;
		};
	}, []);
	// Each series' sum, for checks that the chart shows the figures it was given.
	const sums = data.slice(1).map((values) => (values as (number | null)[]).reduce<number>((a, b) => a + (b ?? 0), 0));
	return <div class="chart" data-chart={name} data-sums={sums.join(",")} ref={box} />;
}

/** Long names (subs) would overlap on a phone: the legend shows them whole. */
function short(name: string): string {
	return name.length > 14 ? `${name.slice(0, 13)}…` : name;
}

/** Category names wider than their share of the axis (about 7 px a character). */
function crowded(u: uPlot, names: string[]): boolean {
	const longest = Math.max(1, ...names.map((name) => short(name).length));
	return u.width / Math.max(1, names.length) < 7 * longest + 12;
}

/** A y axis as wide as its longest label ("1,500", "3 min 20 s"). */
function labelWidth(_u: uPlot, values: string[] | null): number {
	const longest = Math.max(3, ...(values ?? []).map((v) => String(v).length));
	return 14 + 7.5 * longest;
}

const axis = { stroke: "#6b6b70", grid: { stroke: "#e2e2e0", width: 1 }, ticks: { stroke: "#e2e2e0", width: 1 } };

/** Lines over time: `times` in epoch seconds; `days` labels the x axis with dates only. */
export function TimeChart({
	name,
	times,
	series,
	days = false,
}: {
	name: string;
	times: number[];
	series: Series[];
	days?: boolean;
}) {
	const locale = lang.get() === "zh" ? "zh-CN" : "en";
	const shape = `${lang.get()}|${days}|${series.map((s) => s.label).join(",")}`;
	const format = new Intl.DateTimeFormat(
		locale,
		days ? { month: "short", day: "numeric" } : { hour: "2-digit", minute: "2-digit" },
	);
	const legendFormat = new Intl.DateTimeFormat(
		locale,
		days ? { dateStyle: "medium" } : { dateStyle: "short", timeStyle: "short" },
	);
	return (
		<Plot
			name={name}
			shape={shape}
			data={[times, ...series.map((s) => s.values)]}
			options={() => ({
				scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
				axes: [
					{ ...axis, values: (_u, splits) => splits.map((v) => format.format(v * 1000)) },
					{ ...axis, size: labelWidth },
				],
				series: [
					{ label: t("dash.time"), value: (_u, v) => (v == null ? "—" : legendFormat.format(v * 1000)) },
					...series.map((s) => ({
						label: s.label,
						stroke: s.color,
						width: 2,
						points: { show: times.length <= 31 },
						value: (_u: uPlot, v: number | null) => (v == null ? "—" : v.toLocaleString(locale)),
					})),
				],
			})}
		/>
	);
}

/**
 * Bars by category (actions, channels, users): one series, or two drawn side by side.
 * `format` writes a value in the legend and on the y axis.
 */
export function CategoryChart({
	name,
	label,
	categories,
	series,
	format = (v) => v.toLocaleString(),
}: {
	name: string;
	/** What a category is (action, channel, user), in the legend. */
	label: string;
	categories: string[];
	series: Series[];
	format?: (value: number) => string;
}) {
	const shape = `${lang.get()}|${label}|${categories.join(",")}|${series.map((s) => s.label).join(",")}`;
	const indexes = categories.map((_, i) => i);
	const width = series.length > 1 ? 0.35 : 0.6;
	return (
		<Plot
			name={name}
			shape={shape}
			data={[indexes, ...series.map((s) => s.values)]}
			options={() => ({
				scales: {
					x: { time: false, range: () => [-0.5, categories.length - 0.5] },
					y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.05] },
					right: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.05] },
				},
				axes: [
					{
						...axis,
						splits: () => indexes,
						values: (_u, splits) => splits.map((i) => short(categories[i] ?? "")),
						grid: { show: false },
						// Names too close to sit side by side (a phone, many actions) are slanted.
						rotate: (u) => (crowded(u, categories) ? -40 : 0),
						size: (u) => (crowded(u, categories) ? 96 : 32),
					},
					{ ...axis, size: labelWidth, values: (_u, splits) => splits.map(format) },
					...(series.some((s) => s.axis === "right")
						? [{ ...axis, scale: "right", side: 1, size: labelWidth, grid: { show: false } }]
						: []),
				],
				cursor: { points: { show: false } },
				series: [
					{ label, value: (_u, i) => (i == null ? "—" : (categories[i] ?? "")) },
					...series.map((s, k) => ({
						label: s.label,
						scale: s.axis ?? "y",
						stroke: s.color,
						fill: `${s.color}cc`,
						width: 1,
						points: { show: false },
						paths: uPlot.paths.bars?.({
							size: [width, 64],
							align: series.length > 1 ? ((k === 0 ? -1 : 1) as -1 | 1) : 0,
						}),
						value: (_u: uPlot, v: number | null) =>
							v == null ? "—" : s.axis === "right" ? v.toLocaleString() : format(v),
					})),
				],
			})}
		/>
	);
}
