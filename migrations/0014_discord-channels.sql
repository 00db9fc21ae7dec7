ALTER TABLE `channels` ADD `kind` text DEFAULT 'midjourney-proxy' NOT NULL;--> statement-breakpoint
ALTER TABLE `channels` ADD `discord` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `channels` ADD `discord_state` text DEFAULT '' NOT NULL;