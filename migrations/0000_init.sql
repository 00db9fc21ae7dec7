CREATE TABLE `channels` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`base_url` text NOT NULL,
	`secret` text DEFAULT '' NOT NULL,
	`weight` integer DEFAULT 1 NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`disabled_reason` text DEFAULT '' NOT NULL,
	`failure_count` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `channels_name_unique` ON `channels` (`name`);--> statement-breakpoint
CREATE TABLE `tasks` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`public_id` text NOT NULL,
	`user_id` integer NOT NULL,
	`user_seq` integer NOT NULL,
	`action` text NOT NULL,
	`prompt` text DEFAULT '' NOT NULL,
	`prompt_en` text DEFAULT '' NOT NULL,
	`final_prompt` text DEFAULT '' NOT NULL,
	`task_index` integer,
	`parent_id` text,
	`client_state` text DEFAULT '' NOT NULL,
	`notify_hook` text DEFAULT '' NOT NULL,
	`status` text NOT NULL,
	`progress` text DEFAULT '0%' NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`fail_reason` text DEFAULT '' NOT NULL,
	`upstream_id` text,
	`channel_id` integer,
	`upstream_image_url` text DEFAULT '' NOT NULL,
	`image_key` text,
	`image_type` text,
	`video_url` text DEFAULT '' NOT NULL,
	`video_urls` text DEFAULT '[]' NOT NULL,
	`buttons` text DEFAULT '[]' NOT NULL,
	`submit_time` integer NOT NULL,
	`start_time` integer,
	`finish_time` integer,
	`updated_at` integer NOT NULL,
	`version` integer DEFAULT 0 NOT NULL,
	`quota` integer DEFAULT 0 NOT NULL,
	`refunded` integer DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tasks_public_id` ON `tasks` (`public_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `tasks_user_seq` ON `tasks` (`user_id`,`user_seq`);--> statement-breakpoint
CREATE INDEX `tasks_user_time` ON `tasks` (`user_id`,`submit_time`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_time` ON `tasks` (`submit_time`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_channel_time` ON `tasks` (`channel_id`,`submit_time`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_status_time` ON `tasks` (`status`,`submit_time`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`sub` text NOT NULL,
	`role` text DEFAULT 'user' NOT NULL,
	`quota` integer DEFAULT 0 NOT NULL,
	`task_count` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_sub_unique` ON `users` (`sub`);