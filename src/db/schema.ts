/**
 * The one place the D1 schema is defined. `npm run db:generate` turns changes here into
 * a migration under migrations/; never edit generated migrations by hand.
 */
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const users = sqliteTable("users", {
	id: integer("id").primaryKey({ autoIncrement: true }),
	/** The token's `sub`: users are created the first time they submit. */
	sub: text("sub").notNull().unique(),
	role: text("role", { enum: ["user", "admin"] })
		.notNull()
		.default("user"),
	quota: integer("quota").notNull().default(0),
	/** Tasks this user has created; also hands out each task's `user_seq`. */
	taskCount: integer("task_count").notNull().default(0),
	createdAt: integer("created_at").notNull(),
});

export const channels = sqliteTable("channels", {
	id: integer("id").primaryKey({ autoIncrement: true }),
	name: text("name").notNull().unique(),
	baseUrl: text("base_url").notNull(),
	secret: text("secret").notNull().default(""),
	weight: integer("weight").notNull().default(1),
	enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
	disabledReason: text("disabled_reason").notNull().default(""),
	failureCount: integer("failure_count").notNull().default(0),
	createdAt: integer("created_at").notNull(),
	updatedAt: integer("updated_at").notNull(),
});

export const tasks = sqliteTable(
	"tasks",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		/** The opaque id every surface shows (`_id`, `mj_id`, `promptId`, midjourney-proxy `id`). */
		publicId: text("public_id").notNull(),
		userId: integer("user_id").notNull(),
		/** 1, 2, 3... per user, in submit order: turns "page k" into an index seek. */
		userSeq: integer("user_seq").notNull(),
		action: text("action").notNull(),
		prompt: text("prompt").notNull().default(""),
		promptEn: text("prompt_en").notNull().default(""),
		/** The prompt as the upstream finally ran it (seed 002 `content`). */
		finalPrompt: text("final_prompt").notNull().default(""),
		/** 1..4 for UPSCALE / VARIATION. */
		taskIndex: integer("task_index"),
		/** Public id of the task an UPSCALE / VARIATION acts on. */
		parentId: text("parent_id"),
		/** The client's own `state` string, echoed back. */
		clientState: text("client_state").notNull().default(""),
		notifyHook: text("notify_hook").notNull().default(""),
		status: text("status").notNull(),
		progress: text("progress").notNull().default("0%"),
		description: text("description").notNull().default(""),
		failReason: text("fail_reason").notNull().default(""),
		upstreamId: text("upstream_id"),
		channelId: integer("channel_id"),
		upstreamImageUrl: text("upstream_image_url").notNull().default(""),
		/** R2 key of the gateway's copy of the result image, once copied. */
		imageKey: text("image_key"),
		imageType: text("image_type"),
		videoUrl: text("video_url").notNull().default(""),
		videoUrls: text("video_urls").notNull().default("[]"),
		/** JSON array of the upstream's buttons. */
		buttons: text("buttons").notNull().default("[]"),
		submitTime: integer("submit_time").notNull(),
		startTime: integer("start_time"),
		finishTime: integer("finish_time"),
		updatedAt: integer("updated_at").notNull(),
		/** Bumped by every accepted update; D1 writes are conditional on it. */
		version: integer("version").notNull().default(0),
		/** What the submit charged. */
		quota: integer("quota").notNull().default(0),
		refunded: integer("refunded", { mode: "boolean" }).notNull().default(false),
	},
	(t) => [
		uniqueIndex("tasks_public_id").on(t.publicId),
		uniqueIndex("tasks_user_seq").on(t.userId, t.userSeq),
		index("tasks_user_time").on(t.userId, t.submitTime, t.id),
		index("tasks_time").on(t.submitTime, t.id),
		index("tasks_channel_time").on(t.channelId, t.submitTime, t.id),
		// The reconciler's scans: in-flight and not-started tasks by age.
		index("tasks_status_time").on(t.status, t.submitTime),
	],
);

export type UserRow = typeof users.$inferSelect;
export type ChannelRow = typeof channels.$inferSelect;
export type TaskRow = typeof tasks.$inferSelect;
export type NewTaskRow = typeof tasks.$inferInsert;
