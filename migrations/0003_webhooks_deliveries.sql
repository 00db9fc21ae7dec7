CREATE TABLE `deliveries` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`event_id` text NOT NULL,
	`task_id` text NOT NULL,
	`user_id` integer NOT NULL,
	`url` text NOT NULL,
	`attempt` integer NOT NULL,
	`manual` integer DEFAULT false NOT NULL,
	`http_status` integer,
	`error` text DEFAULT '' NOT NULL,
	`duration_ms` integer DEFAULT 0 NOT NULL,
	`outcome` text NOT NULL,
	`next_try_at` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `deliveries_event` ON `deliveries` (`event_id`,`id`);--> statement-breakpoint
CREATE INDEX `deliveries_user` ON `deliveries` (`user_id`,`id`);--> statement-breakpoint
CREATE INDEX `deliveries_user_outcome` ON `deliveries` (`user_id`,`outcome`,`id`);--> statement-breakpoint
CREATE INDEX `deliveries_task` ON `deliveries` (`task_id`,`id`);--> statement-breakpoint
CREATE INDEX `deliveries_outcome` ON `deliveries` (`outcome`,`id`);--> statement-breakpoint
CREATE TABLE `webhook_secrets` (
	`user_id` integer PRIMARY KEY NOT NULL,
	`secret` text NOT NULL,
	`previous_secret` text,
	`previous_expires_at` integer,
	`created_at` integer NOT NULL,
	`rotated_at` integer
);
