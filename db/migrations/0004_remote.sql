CREATE TABLE `remote_copies` (
	`snapshot_id` text NOT NULL,
	`host` text NOT NULL,
	`location` text NOT NULL,
	`state` text NOT NULL,
	`object_key` text NOT NULL,
	`owner_host` text NOT NULL,
	`encrypted` integer DEFAULT false NOT NULL,
	`size_bytes` integer,
	`object_sha256` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`next_attempt_at` text,
	`checkpoint` text,
	`uploaded_at` text,
	PRIMARY KEY(`snapshot_id`, `host`, `location`)
);
--> statement-breakpoint
CREATE INDEX `remote_copies_host_state` ON `remote_copies` (`host`,`state`);
