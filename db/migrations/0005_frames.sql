ALTER TABLE `snapshots` ADD `frame_count` integer;--> statement-breakpoint
ALTER TABLE `snapshots` ADD `stored_bytes` integer;--> statement-breakpoint
ALTER TABLE `snapshots` ADD `shared_bytes` integer;--> statement-breakpoint
ALTER TABLE `snapshots` ADD `parent_id` text;--> statement-breakpoint
ALTER TABLE `snapshots` ADD `full_reason` text;
