/** vite's `?raw` imports (test/helpers/wrangler-config.ts): a file's text. */
declare module "*?raw" {
	const text: string;
	export default text;
}
