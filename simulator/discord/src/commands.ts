/**
 * The slash commands of the Midjourney and Niji bots as the application-command index lists
 * them. Ids are fixed; versions move with the account's `commandEpoch`, so the stale_command
 * fault makes a cached version answer 50035 until the client reads the index again.
 */
import { MIDJOURNEY_BOT_ID, NIJI_BOT_ID } from "./env";

interface CommandOption {
	type: number;
	name: string;
	description: string;
	required?: boolean;
}

export interface Command {
	id: string;
	type: 1;
	application_id: string;
	version: string;
	name: string;
	description: string;
	options: CommandOption[];
}

const prompt: CommandOption = { type: 3, name: "prompt", description: "The prompt to imagine", required: true };
const images = [1, 2, 3, 4, 5].map((n) => ({ type: 11, name: `image${n}`, description: "An image", required: n <= 2 }));

const SHAPES: { name: string; description: string; options: CommandOption[] }[] = [
	{ name: "imagine", description: "Create images with Midjourney", options: [prompt] },
	{
		name: "describe",
		description: "Writes a prompt based on your image.",
		options: [
			{ type: 11, name: "image", description: "The image to describe" },
			{ type: 3, name: "link", description: "A link to the image" },
		],
	},
	{
		name: "blend",
		description: "Blend images together seamlessly!",
		options: [...images, { type: 3, name: "dimensions", description: "The dimensions of the image" }],
	},
	{ name: "shorten", description: "Analyzes and shortens a prompt.", options: [prompt] },
	{ name: "info", description: "View information about your profile.", options: [] },
	{ name: "fast", description: "Switch to fast mode", options: [] },
	{ name: "relax", description: "Switch to relax mode", options: [] },
	{ name: "turbo", description: "Switch to turbo mode", options: [] },
	{ name: "settings", description: "View and adjust your personal settings.", options: [] },
	{
		name: "show",
		description: "Shows the job view based on job id.",
		options: [{ type: 3, name: "job_id", description: "The job ID of the job you want to show.", required: true }],
	},
];

const BASE_ID: Record<string, bigint> = {
	[MIDJOURNEY_BOT_ID]: 938956540159881230n,
	[NIJI_BOT_ID]: 1023054140580409410n,
};
const BASE_VERSION = 1237876415471554600n;

/** Every command of both bots at the account's current command epoch. */
export function commandIndex(epoch: number): Command[] {
	return [MIDJOURNEY_BOT_ID, NIJI_BOT_ID].flatMap((applicationId) =>
		SHAPES.map((shape, i) => ({
			id: String((BASE_ID[applicationId] ?? 0n) + BigInt(i)),
			type: 1 as const,
			application_id: applicationId,
			version: String(BASE_VERSION + BigInt(i) + BigInt(epoch) * 1000n),
			...shape,
		})),
	);
}

/** The command an interaction names, or undefined when its id or version is not the current one. */
export function currentCommand(
	epoch: number,
	applicationId: unknown,
	data: { id?: unknown; version?: unknown; name?: unknown },
): Command | undefined {
	return commandIndex(epoch).find(
		(command) =>
			command.application_id === applicationId &&
			command.name === data.name &&
			command.id === data.id &&
			command.version === data.version,
	);
}
