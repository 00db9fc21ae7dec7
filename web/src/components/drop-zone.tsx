/** Pictures by drag and drop or a file chooser, read as data URLs, with thumbnails to remove them by. */
import { useState } from "preact/hooks";
import { t } from "../i18n";
import { readAsDataUrls } from "../ui";

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
	const add = async (files: FileList | null) => {
		if (!files?.length) return;
		onChange([...images, ...(await readAsDataUrls(files))].slice(0, max));
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
					accept="image/png,image/jpeg,image/webp"
					multiple={max > 1}
					hidden
					onChange={(event) => {
						void add(event.currentTarget.files);
						event.currentTarget.value = "";
					}}
				/>
				{label}
			</label>
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
