CREATE TABLE `stats_action_durations` (
	`day` integer NOT NULL,
	`action` text NOT NULL,
	`bucket` integer NOT NULL,
	`count` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`day`, `action`, `bucket`)
);
--> statement-breakpoint
CREATE TABLE `stats_channel_days` (
	`day` integer NOT NULL,
	`channel_id` integer NOT NULL,
	`tasks` integer DEFAULT 0 NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`day`, `channel_id`)
);
--> statement-breakpoint
CREATE TABLE `stats_hours` (
	`hour` integer PRIMARY KEY NOT NULL,
	`submitted` integer DEFAULT 0 NOT NULL,
	`succeeded` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`cancelled` integer DEFAULT 0 NOT NULL,
	`charged` integer DEFAULT 0 NOT NULL,
	`refunded` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `stats_user_days` (
	`day` integer NOT NULL,
	`user_id` integer NOT NULL,
	`tasks` integer DEFAULT 0 NOT NULL,
	`spent` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`day`, `user_id`)
);
--> statement-breakpoint
CREATE INDEX `stats_user_days_spent` ON `stats_user_days` (`day`,`spent`,`tasks`);--> statement-breakpoint
CREATE TABLE `stats_users` (
	`user_id` integer PRIMARY KEY NOT NULL,
	`tasks` integer DEFAULT 0 NOT NULL,
	`spent` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `stats_users_spent` ON `stats_users` (`spent`,`tasks`);