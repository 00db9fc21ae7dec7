/**
 * The bodies of POST /api/v9/interactions (shared/DISCORD.md "REST calls"): slash commands by the
 * guild's current command ids and versions, button presses on a bot message, modal submits.
 */
import { MIDJOURNEY_BOT_ID, NIJI_BOT_ID } from "./midjourney";
import type { ApplicationCommand } from "./rest";

export interface Where {
	guildId: string;
	channelId: string;
	sessionId: string;
	nonce: string;
}

/** The bot a task talks to: Niji for botType NIJI_JOURNEY, Midjourney otherwise. */
export function botIdFor(botType: string | null | undefined): string {
	return botType === "NIJI_JOURNEY" ? NIJI_BOT_ID : MIDJOURNEY_BOT_ID;
}

export function findCommand(
	commands: readonly ApplicationCommand[],
	name: string,
	botId: string,
): ApplicationCommand | undefined {
	return commands.find((command) => command.name === name && command.application_id === botId);
}

/** A file already uploaded through the attachments flow, named in a slash command (describe by upload). */
export interface UploadedAttachment {
	id: string;
	filename: string;
	uploaded_filename: string;
}

/** What every interaction carries: its kind, the bot it is for, and where and in which session it happens. */
function interaction(type: 2 | 3 | 5, applicationId: string, where: Where): Record<string, unknown> {
	return {
		type,
		application_id: applicationId,
		guild_id: where.guildId,
		channel_id: where.channelId,
		session_id: where.sessionId,
		nonce: where.nonce,
	};
}

export function slashCommand(
	where: Where,
	command: ApplicationCommand,
	options: unknown[],
	attachments: UploadedAttachment[] = [],
): Record<string, unknown> {
	return {
		...interaction(2, command.application_id, where),
		data: {
			version: command.version,
			id: command.id,
			name: command.name,
			type: 1,
			options,
			application_command: command,
			attachments,
		},
		analytics_location: "slash_ui",
	};
}

export function buttonPress(
	where: Where,
	press: { messageId: string; applicationId: string; customId: string; messageFlags?: number },
): Record<string, unknown> {
	return {
		...interaction(3, press.applicationId, where),
		message_flags: press.messageFlags ?? 0,
		message_id: press.messageId,
		data: { component_type: 2, custom_id: press.customId },
	};
}

export function modalSubmit(
	where: Where,
	modal: { applicationId: string; id: string; customId: string; fieldId: string; value: string },
): Record<string, unknown> {
	return {
		...interaction(5, modal.applicationId, where),
		data: {
			id: modal.id,
			custom_id: modal.customId,
			components: [{ type: 1, components: [{ type: 4, custom_id: modal.fieldId, value: modal.value }] }],
		},
	};
}
