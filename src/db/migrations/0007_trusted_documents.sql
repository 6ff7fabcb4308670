CREATE TABLE "document_manifests" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant" text NOT NULL,
	"app_name" text NOT NULL,
	"app_version" text NOT NULL,
	"document_count" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"retired_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "persisted_documents" (
	"manifest_id" uuid NOT NULL,
	"hash" text NOT NULL,
	"body" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "any_document" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "persisted_documents" ADD CONSTRAINT "persisted_documents_manifest_id_document_manifests_id_fk" FOREIGN KEY ("manifest_id") REFERENCES "public"."document_manifests"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "document_manifests_tenant_app_version" ON "document_manifests" USING btree ("tenant","app_name","app_version");--> statement-breakpoint
CREATE UNIQUE INDEX "persisted_documents_manifest_hash" ON "persisted_documents" USING btree ("manifest_id","hash");--> statement-breakpoint
CREATE INDEX "persisted_documents_hash" ON "persisted_documents" USING btree ("hash");