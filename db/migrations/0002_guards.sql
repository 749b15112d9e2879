ALTER TABLE `snapshots` ADD `pinned` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `events` ADD `host` text DEFAULT '' NOT NULL;--> statement-breakpoint
DROP TABLE `workload_blocks`;--> statement-breakpoint
CREATE TABLE `workload_blocks` (
	`host` text NOT NULL,
	`workload` text NOT NULL,
	`reason` text NOT NULL,
	`since` text NOT NULL,
	PRIMARY KEY(`host`, `workload`)
);
--> statement-breakpoint
CREATE TABLE `leftovers` (
	`id` text PRIMARY KEY NOT NULL,
	`host` text NOT NULL,
	`workload` text NOT NULL,
	`path` text NOT NULL,
	`volume_key` text NOT NULL,
	`reason` text NOT NULL,
	`snapshot_id` text,
	`restore_op` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `leftovers_host_workload` ON `leftovers` (`host`,`workload`);
