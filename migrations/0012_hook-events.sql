ALTER TABLE `deliveries` ADD `event` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `hook_events` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `hook_events` text DEFAULT 'all' NOT NULL;