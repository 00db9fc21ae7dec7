/** Create tasks and watch them: the create form over the gallery, which scrolls on the cursor API. */
import { useEffect, useRef, useState } from "preact/hooks";
import { type Bot, type CreateOptions, type Mode, type Submitted, tasks } from "../api";
import { DropZone } from "../components/drop-zone";
import { ModalStepDialog } from "../components/modal-step";
import { type ModalStep, TaskCard } from "../components/task-card";
import { locale, t } from "../i18n";
import { useSignal } from "../signal";
import { gallery, liveMode, loadMore, startLive, track } from "../task-store";
import { BusyButton, ErrorNote, useAction } from "../ui";

type Kind = "imagine" | "describe" | "blend" | "shorten" | "video";
const KINDS: Kind[] = ["imagine", "describe", "blend", "shorten", "video"];
/** The longest prompt the submit APIs take. */
const PROMPT_MAX = 4000;

export function Studio() {
	const [step, setStep] = useState<ModalStep | null>(null);
	return (
		<>
			<CreatePanel />
			<Gallery onModal={setStep} />
			{step && <ModalStepDialog step={step} onClose={() => setStep(null)} />}
		</>
	);
}

function CreatePanel() {
	const [kind, setKind] = useState<Kind>("imagine");
	const [prompt, setPrompt] = useState("");
	const [mode, setMode] = useState<Mode>("fast");
	const [bot, setBot] = useState<Bot>("MID_JOURNEY");
	const [images, setImages] = useState<string[]>([]);
	const [dimensions, setDimensions] = useState<"PORTRAIT" | "SQUARE" | "LANDSCAPE">("SQUARE");
	const [motion, setMotion] = useState<"low" | "high">("low");
	const [notice, setNotice] = useState<{ text: string; error: boolean } | null>(null);
	const action = useAction();

	const needsPrompt = kind === "imagine" || kind === "shorten" || kind === "video";
	const maxImages = kind === "imagine" ? 5 : kind === "blend" ? 5 : kind === "shorten" ? 0 : 1;

	function check(): string {
		if (needsPrompt && !prompt.trim()) return t("needPrompt");
		if (needsPrompt && prompt.length > PROMPT_MAX) return t("promptTooLong", { max: PROMPT_MAX });
		if (kind === "blend" && images.length < 2) return t("needImages", { n: 2 });
		if ((kind === "describe" || kind === "video") && images.length < 1) return t("needImage");
		return "";
	}

	async function submit(event: Event) {
		event.preventDefault();
		setNotice(null);
		const problem = check();
		if (problem) return setNotice({ text: problem, error: true });
		const options: CreateOptions = { mode, botType: bot };
		const text = prompt.trim();
		const calls: Record<Kind, () => Promise<Submitted>> = {
			imagine: () => tasks.imagine(text, images, options),
			describe: () => tasks.describe(images[0] as string, options),
			blend: () => tasks.blend(images, dimensions, options),
			shorten: () => tasks.shorten(text, options),
			video: () => tasks.video(text, images[0] as string, motion, options),
		};
		const submitted = await action.run(async () => {
			const answer = await calls[kind]();
			await track(answer.taskId);
			return answer;
		});
		if (!submitted) return;
		setNotice({ text: submitted.code === 22 ? t("queued") : t("submitted"), error: false });
		setPrompt("");
		setImages([]);
	}

	return (
		<section class="panel create">
			<h2>{t("create")}</h2>
			<div class="tabs" role="tablist">
				{KINDS.map((name) => (
					<button
						type="button"
						role="tab"
						key={name}
						aria-selected={kind === name}
						class={kind === name ? "tab active" : "tab"}
						onClick={() => {
							// What the last tab said does not belong to the next one.
							setNotice(null);
							action.setError(null);
							setKind(name);
							setImages((current) =>
								current.slice(0, name === "shorten" ? 0 : name === "describe" || name === "video" ? 1 : 5),
							);
						}}
					>
						{t(name)}
					</button>
				))}
			</div>
			<form onSubmit={submit}>
				{needsPrompt && (
					<textarea
						name="prompt"
						aria-label={t("prompt")}
						placeholder={t("prompt")}
						rows={2}
						value={prompt}
						onInput={(event) => setPrompt(event.currentTarget.value)}
					/>
				)}
				{needsPrompt && (
					<p
						class={`hint counter ${prompt.length > PROMPT_MAX ? "over" : ""}`}
						data-testid="prompt-length"
						aria-live="polite"
					>
						{t("promptLength", { n: prompt.length.toLocaleString(locale()), max: PROMPT_MAX.toLocaleString(locale()) })}
					</p>
				)}
				{maxImages > 0 && (
					<DropZone
						key={kind}
						images={images}
						onChange={setImages}
						max={maxImages}
						label={
							kind === "imagine"
								? `${t("referenceImages")} — ${t("dropImages")}`
								: maxImages > 1
									? t("dropImages")
									: t("dropImage")
						}
					/>
				)}
				<div class="row">
					<label class="inline">
						{t("mode")}
						<select name="mode" value={mode} onChange={(event) => setMode(event.currentTarget.value as Mode)}>
							<option value="fast">{t("fast")}</option>
							<option value="relax">{t("relax")}</option>
							<option value="turbo">{t("turbo")}</option>
						</select>
					</label>
					<label class="inline">
						{t("bot")}
						<select name="bot" value={bot} onChange={(event) => setBot(event.currentTarget.value as Bot)}>
							<option value="MID_JOURNEY">Midjourney</option>
							<option value="NIJI_JOURNEY">Niji</option>
						</select>
					</label>
					{kind === "blend" && (
						<label class="inline">
							{t("dimensions")}
							<select
								value={dimensions}
								onChange={(event) => setDimensions(event.currentTarget.value as typeof dimensions)}
							>
								<option value="PORTRAIT">2:3</option>
								<option value="SQUARE">1:1</option>
								<option value="LANDSCAPE">3:2</option>
							</select>
						</label>
					)}
					{kind === "video" && (
						<label class="inline">
							{t("motion")}
							<select value={motion} onChange={(event) => setMotion(event.currentTarget.value as typeof motion)}>
								<option value="low">{t("low")}</option>
								<option value="high">{t("high")}</option>
							</select>
						</label>
					)}
					<BusyButton type="submit" class="primary" busy={action.busy} busyLabel={t("submitting")}>
						{t("submit")}
					</BusyButton>
				</div>
				{notice &&
					(notice.error ? (
						<p class="error" role="alert">
							{notice.text}
						</p>
					) : (
						<p class="notice">{notice.text}</p>
					))}
				<ErrorNote error={action.error} />
			</form>
		</section>
	);
}

function Gallery({ onModal }: { onModal: (step: ModalStep) => void }) {
	const state = useSignal(gallery);
	const mode = useSignal(liveMode);
	const sentinel = useRef<HTMLDivElement>(null);

	useEffect(() => {
		startLive();
		if (!gallery.get().started) void loadMore();
	}, []);

	// Infinite scroll: the next page when the end of the list comes into view.
	useEffect(() => {
		const element = sentinel.current;
		if (!element || typeof IntersectionObserver === "undefined") return;
		const observer = new IntersectionObserver((entries) => {
			if (entries.some((entry) => entry.isIntersecting)) void loadMore();
		});
		observer.observe(element);
		return () => observer.disconnect();
	}, []);

	return (
		<section class="panel">
			<h2>
				{t("gallery")}
				{mode && <span class={`live ${mode}`}>{t(mode === "stream" ? "live" : "polling")}</span>}
			</h2>
			{state.started && state.items.length === 0 && <p class="hint">{t("empty")}</p>}
			<div class="grid">
				{state.items.map((task) => (
					<TaskCard key={task.id} task={task} onModal={onModal} />
				))}
			</div>
			<ErrorNote error={state.error} />
			<div ref={sentinel} class="sentinel">
				{state.loading && <span class="hint">{t("loading")}</span>}
				{!state.loading && state.next && (
					<button type="button" onClick={() => void loadMore()}>
						{t("loadMore")}
					</button>
				)}
			</div>
		</section>
	);
}
