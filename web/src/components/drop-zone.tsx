/**
 * Pictures by drag and drop or a file chooser, read as data URLs, with thumbnails to remove them by.
 * A zone that takes one picture replaces it with the next one chosen; a file that is not a picture
 * is refused here, before anything is uploaded.
 */
import { useState } from "preact/hooks";
import { t } from "../i18n";
import { isPicture, PICTURE_TYPES, readAsDataUrls } from "../ui";

export function DropZone({
	images,
	onChange,
	max,
	label,
}: {
	images: string[];
	onChange: (images: string[]) => void;
	max: number;
	label: string;
}) {
	const [over, setOver] = useState(false);
	const [refused, setRefused] = useState("");
	const add = async (files: FileList | null) => {
		if (!files?.length) return;
		const all = [...files];
		const others = all.filter((file) => !isPicture(file));
		setRefused(others.length ? t("notPicture", { names: others.map((file) => file.name).join(", ") }) : "");
		const read = await readAsDataUrls(all);
		if (!read.length) return;
		// One picture: the newest choice replaces the old one. Several: added, up to the limit.
		onChange(max === 1 ? read.slice(-1) : [...images, ...read].slice(0, max));
	};
	return (
		<div class="drop-field">
			<label
				class={`drop ${over ? "over" : ""}`}
				onDragOver={(event) => {
					event.preventDefault();
					setOver(true);
				}}
				onDragLeave={() => setOver(false)}
				onDrop={(event) => {
					event.preventDefault();
					setOver(false);
					void add(event.dataTransfer?.files ?? null);
				}}
			>
				<input
					type="file"
					accept={PICTURE_TYPES.join(",")}
					multiple={max > 1}
					hidden
					onChange={(event) => {
						void add(event.currentTarget.files);
						event.currentTarget.value = "";
					}}
				/>
				{max === 1 && images.length === 1 ? t("replaceImage") : label}
			</label>
			{refused && (
				<p class="error" role="alert" data-testid="drop-refused">
					{refused}
				</p>
			)}
			{images.length > 0 && (
				<div class="thumbs">
					{images.map((image, index) => (
						<button
							type="button"
							class="thumb"
							key={`${index}-${image.length}`}
							title={t("remove")}
							onClick={() => onChange(images.filter((_, i) => i !== index))}
						>
							<img src={image} alt="" />
						</button>
					))}
				</div>
			)}
		</div>
	);
}
