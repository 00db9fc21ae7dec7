/**
 * The second step of vary region and custom zoom (the tasks that answered code 21): a mask
 * painter over the picture, or a prompt box. Submits through /mj/submit/modal.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { tasks } from "../api";
import { t } from "../i18n";
import { track } from "../task-store";
import { BusyButton, ErrorNote, useAction } from "../ui";
import type { ModalStep } from "./task-card";

export function ModalStepDialog({ step, onClose }: { step: ModalStep; onClose: () => void }) {
	const action = useAction();
	const [prompt, setPrompt] = useState(step.kind === "zoom" ? `${step.parent.prompt} --zoom 1.8` : step.parent.prompt);
	const painter = useRef<Painter | null>(null);
	const [empty, setEmpty] = useState(true);

	async function submit(event: Event) {
		event.preventDefault();
		const mask = step.kind === "mask" ? painter.current?.export() : undefined;
		const done = await action.run(async () => {
			const submitted = await tasks.modal(step.modalTaskId, prompt, mask);
			await track(submitted.taskId);
			return true;
		});
		if (done) onClose();
	}

	return (
		<div
			class="backdrop"
			role="dialog"
			aria-modal="true"
			aria-label={t(step.kind === "mask" ? "varyRegion" : "customZoom")}
		>
			<form class="dialog" onSubmit={submit}>
				<h2>{t(step.kind === "mask" ? "varyRegion" : "customZoom")}</h2>
				<p class="hint">{t(step.kind === "mask" ? "varyRegionHint" : "customZoomHint")}</p>
				{step.kind === "mask" && step.parent.imageUrl && (
					<MaskCanvas src={step.parent.imageUrl} painter={painter} onPaint={() => setEmpty(false)} />
				)}
				<label>
					{t("prompt")}
					<input
						name="modal-prompt"
						value={prompt}
						onInput={(event) => setPrompt(event.currentTarget.value)}
						required
					/>
				</label>
				<ErrorNote error={action.error} />
				<div class="row">
					<BusyButton
						type="submit"
						busy={action.busy}
						busyLabel={t("submitting")}
						disabled={step.kind === "mask" && empty}
					>
						{t("submit")}
					</BusyButton>
					{step.kind === "mask" && (
						<button
							type="button"
							onClick={() => {
								painter.current?.clear();
								setEmpty(true);
							}}
						>
							{t("clear")}
						</button>
					)}
					<button type="button" onClick={onClose}>
						{t("close")}
					</button>
				</div>
			</form>
		</div>
	);
}

interface Painter {
	/** The mask as a PNG data URL at the picture's own size: painted white on black. */
	export(): string;
	clear(): void;
}

/** A canvas over the picture, at its natural size; strokes are white on a black, half-transparent layer. */
function MaskCanvas({
	src,
	painter,
	onPaint,
}: {
	src: string;
	painter: { current: Painter | null };
	onPaint: () => void;
}) {
	const canvas = useRef<HTMLCanvasElement>(null);
	const [brush, setBrush] = useState(48);
	const last = useRef<{ x: number; y: number } | null>(null);

	function reset(width: number, height: number) {
		const element = canvas.current;
		if (!element) return;
		element.width = width;
		element.height = height;
		const context = element.getContext("2d");
		if (!context) return;
		context.fillStyle = "#000";
		context.fillRect(0, 0, width, height);
	}

	useEffect(() => {
		painter.current = {
			export: () => canvas.current?.toDataURL("image/png") ?? "",
			clear: () => canvas.current && reset(canvas.current.width, canvas.current.height),
		};
		return () => {
			painter.current = null;
		};
	}, [painter]);

	const point = (event: PointerEvent) => {
		const element = canvas.current as HTMLCanvasElement;
		const rect = element.getBoundingClientRect();
		return {
			x: ((event.clientX - rect.left) / rect.width) * element.width,
			y: ((event.clientY - rect.top) / rect.height) * element.height,
		};
	};

	function draw(event: PointerEvent) {
		const element = canvas.current;
		const context = element?.getContext("2d");
		if (!element || !context || !last.current) return;
		const to = point(event);
		const scale = element.width / element.getBoundingClientRect().width;
		context.strokeStyle = "#fff";
		context.fillStyle = "#fff";
		context.lineCap = "round";
		context.lineJoin = "round";
		context.lineWidth = brush * scale;
		context.beginPath();
		context.moveTo(last.current.x, last.current.y);
		context.lineTo(to.x, to.y);
		context.stroke();
		last.current = to;
		onPaint();
	}

	return (
		<div class="mask-painter">
			<div class="mask-stack">
				<img
					src={src}
					alt=""
					onLoad={(event) => reset(event.currentTarget.naturalWidth || 1024, event.currentTarget.naturalHeight || 1024)}
				/>
				<canvas
					ref={canvas}
					class="mask"
					data-testid="mask"
					onPointerDown={(event) => {
						event.currentTarget.setPointerCapture(event.pointerId);
						last.current = point(event);
						draw(event);
					}}
					onPointerMove={(event) => last.current && draw(event)}
					onPointerUp={() => {
						last.current = null;
					}}
				/>
			</div>
			<label class="inline">
				{t("brush")}
				<input
					type="range"
					min={8}
					max={160}
					value={brush}
					onInput={(event) => setBrush(Number(event.currentTarget.value))}
				/>
			</label>
		</div>
	);
}
