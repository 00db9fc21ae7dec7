CREATE TABLE `counters` (
	`name` text PRIMARY KEY NOT NULL,
	`value` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `template_favorites` (
	`template_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`template_id`, `user_id`)
);
--> statement-breakpoint
CREATE TABLE `templates` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`title` text NOT NULL,
	`cover_key` text,
	`image_key` text,
	`workflow_id` integer DEFAULT 0 NOT NULL,
	`prompt` text DEFAULT '' NOT NULL,
	`favorite_count` integer DEFAULT 0 NOT NULL,
	`is_audit` integer DEFAULT 0 NOT NULL,
	`pid` integer DEFAULT 0 NOT NULL,
	`sort` integer DEFAULT 0 NOT NULL,
	`author` text DEFAULT '' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `templates_listing` ON `templates` (`is_audit`,`sort`,`id`);--> statement-breakpoint
ALTER TABLE `tasks` ADD `style_id` integer;--> statement-breakpoint
ALTER TABLE `tasks` ADD `origin_key` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `album_seq` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `tasks_user_album_seq` ON `tasks` (`user_id`,`album_seq`);--> statement-breakpoint
ALTER TABLE `users` ADD `album_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `last_submit_time` integer DEFAULT 0 NOT NULL;