/**
 * wrangler.toml as deployed, read by the tests (vite's `?raw` import: the text, bundled into the
 * test Worker) so a constant the code keeps "in step" with it is checked against it.
 */
import wranglerToml from "../../wrangler.toml?raw";

/** `max_retries` of the `[[queues.consumers]]` entry for `queue`; undefined when it has none. */
export function consumerMaxRetries(queue: string): number | undefined {
	const blocks = wranglerToml.split(/^\[\[queues\.consumers\]\]\s*$/m).slice(1);
	for (const block of blocks) {
		const body = block.split(/^\[/m)[0];
		if (new RegExp(`^queue\\s*=\\s*"${queue}"\\s*$`, "m").test(body)) {
			const retries = /^max_retries\s*=\s*(\d+)\s*$/m.exec(body);
			return retries ? Number(retries[1]) : undefined;
		}
	}
	throw new Error(`wrangler.toml has no consumer for ${queue}`);
}
