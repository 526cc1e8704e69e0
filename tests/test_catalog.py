"""scripts/database/catalog.py: a schema as the server describes it. Two databases built from different spellings
of the same schema read alike; a change made by hand is named. (The drift check, 38, compares two
such readings: tests/test_drift_spellings.py runs it on copies of the repository.)"""

from __future__ import annotations

import psycopg2

from scripts.database import catalog
from testing.database import Database

# As the Better Auth CLI and drizzle-kit write it: schema-qualified functions, DEFAULT ... NOT NULL,
# quoted identifiers, explicit casts, "public"-qualified references.
AS_THE_TOOLS_WRITE_IT = """
CREATE TYPE "public"."mood" AS ENUM('sad', 'ok');
CREATE TABLE "public"."owner" (
  "id" uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid() NOT NULL,
  "email_verified" boolean DEFAULT false NOT NULL,
  "created_at" timestamp DEFAULT now() NOT NULL,
  "label" text DEFAULT 'x'::text,
  "budget" numeric(10, 2) DEFAULT '0',
  "mood" "public"."mood" DEFAULT 'ok'::"public"."mood" NOT NULL,
  "tags" text[] DEFAULT '{}'::text[],
  "stars" integer GENERATED ALWAYS AS IDENTITY (sequence name "public"."owner_stars_seq" INCREMENT BY 1 MINVALUE 1
    MAXVALUE 2147483647 START WITH 1 CACHE 1),
  CONSTRAINT "owner_budget_check" CHECK ("public"."owner"."budget" >= 0)
);
CREATE TABLE "public"."pet" ("id" serial PRIMARY KEY NOT NULL, "owner_id" uuid NOT NULL);
ALTER TABLE "public"."pet" ADD CONSTRAINT "pet_owner_id_owner_id_fk" FOREIGN KEY ("owner_id")
  REFERENCES "public"."owner"("id") ON DELETE cascade ON UPDATE no action;
CREATE INDEX "pet_owner_idx" ON "public"."pet" USING btree ("owner_id" DESC NULLS LAST);
CREATE UNIQUE INDEX "owner_label_idx" ON "public"."owner" USING btree (lower("label"));
CREATE VIEW "public"."labelled" AS SELECT "label" FROM "public"."owner" WHERE "label" IS NOT NULL;
"""

# The same schema as a person would write it by hand.
AS_A_PERSON_WRITES_IT = """
create type mood as enum ('sad', 'ok');
create table owner (
  id uuid not null default gen_random_uuid() primary key,
  email_verified bool not null default 'f',
  created_at timestamp without time zone not null default now(),
  label text default 'x',
  budget decimal(10, 2) default '0',
  mood mood not null default 'ok',
  tags text[] default '{}',
  stars int generated always as identity,
  constraint owner_budget_check check (budget >= 0)
);
create table pet (id serial primary key, owner_id uuid not null references owner on delete cascade);
alter table pet rename constraint pet_owner_id_fkey to pet_owner_id_owner_id_fk;
create index pet_owner_idx on pet (owner_id desc nulls last);
create unique index owner_label_idx on owner (lower(label));
create view labelled as select label from owner where label is not null;
"""


def read(database: Database) -> catalog.Schema:
    connection = psycopg2.connect(database.url_string(drivername="postgresql"))
    try:
        with connection.cursor() as cursor:
            return catalog.read(cursor, "public")
    finally:
        connection.close()


def build(database: Database, script: str) -> None:
    database.query(script)


def test_the_same_schema_in_different_spellings_reads_alike(database: Database, reference: Database) -> None:
    build(database, AS_THE_TOOLS_WRITE_IT)
    build(reference, AS_A_PERSON_WRITES_IT)

    assert catalog.differences(read(reference), read(database), "public") == []


def test_a_column_added_by_hand_is_named(database: Database, reference: Database) -> None:
    build(database, AS_THE_TOOLS_WRITE_IT)
    build(reference, AS_THE_TOOLS_WRITE_IT)
    database.query('ALTER TABLE "owner" ADD COLUMN stray text')

    assert catalog.differences(read(reference), read(database), "public") == [
        "column owner.stray: in the database only"
    ]


def test_a_changed_default_type_and_index_are_named(database: Database, reference: Database) -> None:
    build(database, AS_THE_TOOLS_WRITE_IT)
    build(reference, AS_THE_TOOLS_WRITE_IT)
    database.query("ALTER TABLE owner ALTER COLUMN label SET DEFAULT 'y'")
    database.query("ALTER TABLE owner ALTER COLUMN email_verified TYPE text")
    database.query("DROP INDEX pet_owner_idx")

    found = catalog.differences(read(reference), read(database), "public")

    assert "column owner.label: default is 'y'::text in the database, 'x'::text in the migrations" in found
    assert "column owner.email_verified: type is text in the database, boolean in the migrations" in found
    assert "index pet_owner_idx on pet: missing from the database" in found


def test_a_table_and_an_enum_value_added_by_hand_are_named(database: Database, reference: Database) -> None:
    build(database, AS_THE_TOOLS_WRITE_IT)
    build(reference, AS_THE_TOOLS_WRITE_IT)
    database.query("CREATE TABLE stray (id int)")
    database.query("ALTER TYPE mood ADD VALUE 'happy'")

    found = catalog.differences(read(reference), read(database), "public")

    assert found == [
        "table public.stray: in the database only",
        "enum mood: is sad, ok, happy in the database, sad, ok in the migrations",
    ]
