/** A value components can watch: the few pieces of state shared across pages (language, tasks). */
import { useEffect, useState } from "preact/hooks";

export interface Signal<T> {
	get(): T;
	set(value: T): void;
	subscribe(listener: (value: T) => void): () => void;
}

export function signal<T>(initial: T): Signal<T> {
	let value = initial;
	const listeners = new Set<(value: T) => void>();
	return {
		get: () => value,
		set(next) {
			value = next;
			for (const listener of listeners) listener(value);
		},
		subscribe(listener) {
			listeners.add(listener);
			return () => listeners.delete(listener);
		},
	};
}

/** The signal's value, re-rendering the component whenever it changes. */
export function useSignal<T>(source: Signal<T>): T {
	const [value, setValue] = useState(source.get());
	useEffect(() => {
		setValue(source.get());
		return source.subscribe(setValue);
	}, [source]);
	return value;
}
