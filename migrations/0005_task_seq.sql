ALTER TABLE `tasks` ADD `task_seq` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `tasks_seq` ON `tasks` (`task_seq`);