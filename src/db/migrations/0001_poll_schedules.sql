CREATE TABLE "poll_schedules" (
	"checkout_id" uuid PRIMARY KEY NOT NULL,
	"next_poll_at" timestamp with time zone NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"lease_owner" text,
	"lease_expires_at" timestamp with time zone,
	"last_polled_at" timestamp with time zone,
	"last_error" text
);
--> statement-breakpoint
ALTER TABLE "poll_schedules" ADD CONSTRAINT "poll_schedules_checkout_id_checkouts_id_fk" FOREIGN KEY ("checkout_id") REFERENCES "public"."checkouts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "poll_schedules_due" ON "poll_schedules" USING btree ("next_poll_at");