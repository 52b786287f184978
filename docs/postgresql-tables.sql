-- The tables of tap-batchimport in PostgreSQL, for target-postgres (docs/postgresql.md).
--
-- Run it once, before the first load, as the role that is to own the tables:
--     psql -v schema=batchimport -v loader=batchimport_loader -f docs/postgresql-tables.sql
-- `schema` is target-postgres' default_target_schema (batchimport if not given); `loader`,
-- if given, is the role target-postgres logs in as: it is granted what loading needs and
-- no more (no CREATE). It only creates what is missing, so running it again is harmless.
--
-- Why: target-postgres creates a missing table itself, but types every date-time as
-- `timestamp without time zone`. Here they are `timestamptz` (an instant, shown in your
-- session's time zone), and target-postgres keeps a column type it finds. The tables must
-- also exist before shards run in parallel: two target-postgres processes creating the
-- same table at once make one of them fail. Columns and keys are exactly those
-- target-postgres would create; tests/test_postgres_e2e.py checks they match the tap.

\set ON_ERROR_STOP on
\if :{?schema}
\else
  \set schema batchimport
\endif

create schema if not exists :"schema";

-- One import job's status (upserted by source and job_id on every run that sees the job).
create table if not exists :"schema".job_details (
    source text not null,
    job_id text not null,
    status text,
    is_finished boolean,
    created timestamptz,
    finished timestamptz,
    imports bigint,
    errors bigint,
    message text,
    type text,
    modified timestamptz,
    expiration timestamptz,
    result_expired boolean,
    given_up boolean,
    last_error text,
    failed_attempts bigint,
    row_count_mismatch jsonb,
    vendor_status jsonb,
    schema_mismatches jsonb,
    undeclared_fields jsonb,
    _sdc_extracted_at timestamptz,
    _sdc_received_at timestamptz,
    _sdc_batched_at timestamptz,
    _sdc_deleted_at timestamptz,
    _sdc_sequence bigint,
    _sdc_table_version bigint,
    _sdc_sync_started_at bigint,
    primary key (source, job_id)
);

-- Fullstory users batch imports: users imported, users that failed.
create table if not exists :"schema".imported_users (
    job_id text not null,
    row_number bigint not null,
    id text,
    uid text,
    display_name text,
    email text,
    properties jsonb,
    schema jsonb,
    type_conflicts jsonb,
    schema_mismatches jsonb,
    undeclared_fields jsonb,
    _sdc_extracted_at timestamptz,
    _sdc_received_at timestamptz,
    _sdc_batched_at timestamptz,
    _sdc_deleted_at timestamptz,
    _sdc_sequence bigint,
    _sdc_table_version bigint,
    _sdc_sync_started_at bigint,
    primary key (job_id, row_number)
);

create table if not exists :"schema".user_import_errors (
    job_id text not null,
    row_number bigint not null,
    message text,
    code text,
    "user" jsonb,
    schema_mismatches jsonb,
    undeclared_fields jsonb,
    _sdc_extracted_at timestamptz,
    _sdc_received_at timestamptz,
    _sdc_batched_at timestamptz,
    _sdc_deleted_at timestamptz,
    _sdc_sequence bigint,
    _sdc_table_version bigint,
    _sdc_sync_started_at bigint,
    primary key (job_id, row_number)
);

-- Fullstory events batch imports: events imported, events that failed.
create table if not exists :"schema".imported_events (
    job_id text not null,
    row_number bigint not null,
    "user" jsonb,
    session jsonb,
    context jsonb,
    name text,
    "timestamp" timestamptz,
    properties jsonb,
    schema jsonb,
    schema_mismatches jsonb,
    undeclared_fields jsonb,
    _sdc_extracted_at timestamptz,
    _sdc_received_at timestamptz,
    _sdc_batched_at timestamptz,
    _sdc_deleted_at timestamptz,
    _sdc_sequence bigint,
    _sdc_table_version bigint,
    _sdc_sync_started_at bigint,
    primary key (job_id, row_number)
);

create table if not exists :"schema".event_import_errors (
    job_id text not null,
    row_number bigint not null,
    message text,
    code text,
    event jsonb,
    shared jsonb,
    schema_mismatches jsonb,
    undeclared_fields jsonb,
    _sdc_extracted_at timestamptz,
    _sdc_received_at timestamptz,
    _sdc_batched_at timestamptz,
    _sdc_deleted_at timestamptz,
    _sdc_sequence bigint,
    _sdc_table_version bigint,
    _sdc_sync_started_at bigint,
    primary key (job_id, row_number)
);

-- DruID bulk user jobs: one row per result.
create table if not exists :"schema".bulk_results (
    bulk_id text not null,
    id text not null,
    "userIdentifierType" text,
    "objectId" text,
    "pulseId" text,
    error text,
    schema_mismatches jsonb,
    undeclared_fields jsonb,
    _sdc_extracted_at timestamptz,
    _sdc_received_at timestamptz,
    _sdc_batched_at timestamptz,
    _sdc_deleted_at timestamptz,
    _sdc_sequence bigint,
    _sdc_table_version bigint,
    _sdc_sync_started_at bigint,
    primary key (bulk_id, id)
);

-- SailPoint SP-Config imports: messages and imported objects.
create table if not exists :"schema".config_import_results (
    job_id text not null,
    export_job_id text,
    object_type text not null,
    category text not null,
    "position" bigint not null,
    key text,
    text text,
    details jsonb,
    imported_object_type text,
    imported_object_id text,
    imported_object_name text,
    schema_mismatches jsonb,
    undeclared_fields jsonb,
    _sdc_extracted_at timestamptz,
    _sdc_received_at timestamptz,
    _sdc_batched_at timestamptz,
    _sdc_deleted_at timestamptz,
    _sdc_sequence bigint,
    _sdc_table_version bigint,
    _sdc_sync_started_at bigint,
    primary key (job_id, object_type, category, "position")
);

-- Tables created by an earlier release get the columns added since (a loader that does not
-- own the tables cannot add them itself).
alter table :"schema".job_details add column if not exists last_error text;
alter table :"schema".job_details add column if not exists failed_attempts bigint;
alter table :"schema".job_details add column if not exists row_count_mismatch jsonb;
alter table :"schema".job_details add column if not exists schema_mismatches jsonb;
alter table :"schema".job_details add column if not exists undeclared_fields jsonb;
alter table :"schema".imported_users add column if not exists schema_mismatches jsonb;
alter table :"schema".imported_users add column if not exists undeclared_fields jsonb;
alter table :"schema".user_import_errors add column if not exists schema_mismatches jsonb;
alter table :"schema".user_import_errors add column if not exists undeclared_fields jsonb;
alter table :"schema".imported_events add column if not exists schema_mismatches jsonb;
alter table :"schema".imported_events add column if not exists undeclared_fields jsonb;
alter table :"schema".event_import_errors add column if not exists schema_mismatches jsonb;
alter table :"schema".event_import_errors add column if not exists undeclared_fields jsonb;
alter table :"schema".bulk_results add column if not exists schema_mismatches jsonb;
alter table :"schema".bulk_results add column if not exists undeclared_fields jsonb;
alter table :"schema".config_import_results add column if not exists schema_mismatches jsonb;
alter table :"schema".config_import_results add column if not exists undeclared_fields jsonb;

-- What target-postgres needs to load into existing tables: each batch goes through a
-- temporary table, then rows are inserted or updated by primary key.
\if :{?loader}
grant connect, temporary on database :"DBNAME" to :"loader";
grant usage on schema :"schema" to :"loader";
grant select, insert, update on all tables in schema :"schema" to :"loader";
\endif
