ALTER TABLE `tasks` ADD `seed` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `tasks` ADD `width` integer;--> statement-breakpoint
ALTER TABLE `tasks` ADD `height` integer;