ALTER TABLE "checkouts" ALTER COLUMN "total_amount" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "line_items" ALTER COLUMN "unit_price" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "line_items" ALTER COLUMN "discount" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "line_items" ALTER COLUMN "total" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "poll_schedules" ADD COLUMN "answer_errors" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "checkouts_open_created_at" ON "checkouts" USING btree ("created_at") WHERE "checkouts"."status" = 'OPEN';