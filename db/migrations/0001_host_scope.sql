ALTER TABLE `operations` ADD `host` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `snapshots` ADD `host` text DEFAULT '' NOT NULL;