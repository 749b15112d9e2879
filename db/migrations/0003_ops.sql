ALTER TABLE `snapshots` ADD `duration_ms` integer;--> statement-breakpoint
ALTER TABLE `snapshots` ADD `content_digest` text;--> statement-breakpoint
ALTER TABLE `snapshots` ADD `last_drill_at` text;--> statement-breakpoint
ALTER TABLE `snapshots` ADD `last_drill_ok` integer;--> statement-breakpoint
ALTER TABLE `snapshots` ADD `last_drill_error` text;--> statement-breakpoint
CREATE TABLE `schedules` (
	`host` text NOT NULL,
	`workload` text NOT NULL,
	`kind` text NOT NULL,
	`expression` text NOT NULL,
	`next_run_at` text,
	`last_run_at` text,
	`last_result` text,
	PRIMARY KEY(`host`, `workload`, `kind`)
);--> statement-breakpoint
CREATE TABLE `notify_outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`host` text NOT NULL,
	`target` text NOT NULL,
	`message` text NOT NULL,
	`created_at` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` text NOT NULL,
	`state` text DEFAULT 'pending' NOT NULL,
	`delivered_at` text,
	`last_error` text
);--> statement-breakpoint
CREATE INDEX `notify_outbox_due` ON `notify_outbox` (`host`,`state`,`next_attempt_at`);
