/** What the admin panels share: lists read a page at a time, form fields bound to state. */
import { useState } from "preact/hooks";
import { t } from "../../i18n";
import { BusyButton, useAction } from "../../ui";

interface Page<T> {
	items: T[];
	next_cursor: string | null;
	total?: number;
}

/** A list read a page at a time: `load(query, null)` starts over, `load(query, cursor)` appends the page after. */
export function usePages<Q, T>(read: (query: Q, cursor: string | null) => Promise<Page<T>>) {
	const [items, setItems] = useState<T[] | null>(null);
	const [next, setNext] = useState<string | null>(null);
	const [total, setTotal] = useState<number | null>(null);
	const action = useAction();
	async function load(query: Q, cursor: string | null) {
		const page = await action.run(() => read(query, cursor));
		if (!page) return;
		setItems((current) => (cursor && current ? [...current, ...page.items] : page.items));
		setNext(page.next_cursor);
		setTotal(page.total ?? null);
	}
	return { items, setItems, next, total, busy: action.busy, error: action.error, load };
}

export function LoadMore({
	next,
	busy,
	onMore,
}: {
	next: string | null;
	busy: boolean;
	onMore: (cursor: string) => void;
}) {
	if (!next) return null;
	return (
		<BusyButton type="button" busy={busy} onClick={() => onMore(next)}>
			{t("loadMore")}
		</BusyButton>
	);
}

type TextKeys<F> = { [K in keyof F]: F[K] extends string ? K : never }[keyof F] & string;

/** `name`, `value` and `onInput` of an input bound to one text field of a form's state. */
export function textField<F>(fields: F, setFields: (next: F) => void) {
	return (name: TextKeys<F>) => ({
		name,
		value: fields[name] as string,
		onInput: (event: { currentTarget: HTMLInputElement }) =>
			setFields({ ...fields, [name]: event.currentTarget.value }),
	});
}
