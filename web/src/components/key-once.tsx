/** A key in the one answer that holds all of it: shown with a copy button until the page moves on. */
import { useState } from "preact/hooks";
import { t } from "../i18n";

export function KeyOnce({
	note,
	value,
	testId,
	keyId,
}: {
	note: string;
	value: string;
	testId: string;
	keyId?: number;
}) {
	const [copied, setCopied] = useState(false);
	return (
		<div class="once">
			<p>{note}</p>
			<code data-testid={testId} data-key-id={keyId}>
				{value}
			</code>
			<button
				type="button"
				class="small"
				onClick={() =>
					navigator.clipboard?.writeText(value).then(
						() => setCopied(true),
						() => undefined,
					)
				}
			>
				{copied ? t("copied") : t("copy")}
			</button>
		</div>
	);
}
