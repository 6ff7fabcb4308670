CREATE TABLE "checkout_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"checkout_id" uuid NOT NULL,
	"status" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"source" text NOT NULL,
	"notes" text
);
--> statement-breakpoint
CREATE TABLE "checkouts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"seq" bigserial NOT NULL,
	"tenant" text NOT NULL,
	"provider" text NOT NULL,
	"provider_checkout_id" text,
	"status" text NOT NULL,
	"currency" text,
	"total_amount" integer,
	"checkout_url" text,
	"test_mode" boolean NOT NULL,
	"notes" text,
	"merchant_id" uuid,
	"idempotency_key" text,
	"request_hash" text,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "checkouts_seq_unique" UNIQUE("seq"),
	CONSTRAINT "checkouts_total_amount_nonnegative" CHECK ("checkouts"."total_amount" is null or "checkouts"."total_amount" >= 0)
);
--> statement-breakpoint
CREATE TABLE "line_items" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"checkout_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"product_id" text,
	"description" text,
	"sku" text,
	"quantity" integer NOT NULL,
	"unit_price" integer,
	"discount" integer,
	"total" integer,
	"image_url" text,
	"product_url" text
);
--> statement-breakpoint
CREATE TABLE "merchants" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant" text NOT NULL,
	"provider" text NOT NULL,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"website" text,
	"privacy_policy_url" text,
	"general_terms_url" text,
	"logo_url" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "checkout_events" ADD CONSTRAINT "checkout_events_checkout_id_checkouts_id_fk" FOREIGN KEY ("checkout_id") REFERENCES "public"."checkouts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "checkouts" ADD CONSTRAINT "checkouts_merchant_id_merchants_id_fk" FOREIGN KEY ("merchant_id") REFERENCES "public"."merchants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "line_items" ADD CONSTRAINT "line_items_checkout_id_checkouts_id_fk" FOREIGN KEY ("checkout_id") REFERENCES "public"."checkouts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "checkout_events_checkout_id" ON "checkout_events" USING btree ("checkout_id","id");--> statement-breakpoint
CREATE INDEX "checkouts_tenant_seq" ON "checkouts" USING btree ("tenant","seq");--> statement-breakpoint
CREATE INDEX "checkouts_tenant_provider_seq" ON "checkouts" USING btree ("tenant","provider","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "checkouts_tenant_idempotency_key" ON "checkouts" USING btree ("tenant","idempotency_key") WHERE "checkouts"."idempotency_key" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "line_items_checkout_position" ON "line_items" USING btree ("checkout_id","position");--> statement-breakpoint
CREATE UNIQUE INDEX "merchants_tenant_provider_key" ON "merchants" USING btree ("tenant","provider","key");