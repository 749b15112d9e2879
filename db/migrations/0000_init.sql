CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`time` text NOT NULL,
	`workload` text,
	`kind` text NOT NULL,
	`message` text NOT NULL,
	`data` text
);
--> statement-breakpoint
CREATE INDEX `events_workload_time` ON `events` (`workload`,`id`);--> statement-breakpoint
CREATE TABLE `operations` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`workload` text,
	`snapshot_id` text,
	`state` text NOT NULL,
	`phase` text NOT NULL,
	`bytes_done` integer DEFAULT 0 NOT NULL,
	`bytes_total` integer,
	`result` text,
	`error` text,
	`started_at` text NOT NULL,
	`finished_at` text
);
--> statement-breakpoint
CREATE TABLE `snapshots` (
	`id` text PRIMARY KEY NOT NULL,
	`workload` text NOT NULL,
	`created_at` text NOT NULL,
	`origin` text NOT NULL,
	`label` text,
	`status` text NOT NULL,
	`compression` text NOT NULL,
	`file` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`uncompressed_bytes` integer NOT NULL,
	`file_count` integer NOT NULL,
	`skipped_special` integer DEFAULT 0 NOT NULL,
	`sha256` text NOT NULL,
	`quiesce` text NOT NULL,
	`downtime_ms` integer,
	`consistent` integer DEFAULT true NOT NULL,
	`warnings` text NOT NULL,
	`manifest` text NOT NULL,
	`last_verified_at` text,
	`last_verify_ok` integer,
	`last_verify_error` text
);
--> statement-breakpoint
CREATE INDEX `snapshots_workload_created` ON `snapshots` (`workload`,`created_at`);--> statement-breakpoint
CREATE TABLE `workload_blocks` (
	`workload` text PRIMARY KEY NOT NULL,
	`reason` text NOT NULL,
	`since` text NOT NULL
);
