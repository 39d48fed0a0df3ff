-- Roles that do not trust the application (issue 13, point 7).
--
-- Before: one role, monitoring_app, ran tenant work and system work alike; system work was
-- told apart by a setting (app.is_system_user) that the role could set itself, so any statement
-- run as monitoring_app could read every tenant. Now:
--   monitoring_app     tenant work; sees the rows of app.current_tenant_id only, whatever else it sets
--   monitoring_system  cross-tenant work (jobs); sees every row; the only role that may run the
--                      cleanup functions
--   monitoring_runtime the login role of DATABASE_URL: neither superuser nor owner, NOINHERIT, so
--                      by itself it has no privileges and sees no rows; it switches per unit of
--                      work to monitoring_app or monitoring_system (SET LOCAL ROLE)
-- Migrations run as the owner (MIGRATION_DATABASE_URL). The owner is given monitoring_system
-- so the SECURITY DEFINER functions it owns see every row under forced RLS.

DO $$ BEGIN
  CREATE ROLE monitoring_system NOLOGIN NOSUPERUSER NOBYPASSRLS;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

DO $$ BEGIN
  CREATE ROLE monitoring_runtime LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

DO $$ BEGIN
  GRANT monitoring_app TO monitoring_runtime;
  GRANT monitoring_system TO monitoring_runtime;
EXCEPTION WHEN others THEN NULL;
END $$;

DO $$ BEGIN
  EXECUTE format('GRANT monitoring_system TO %I', current_user);
EXCEPTION WHEN others THEN NULL;
END $$;

DO $$ BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO monitoring_runtime', current_database());
EXCEPTION WHEN others THEN NULL;
END $$;

GRANT USAGE ON SCHEMA public TO monitoring_system;
GRANT USAGE ON SEQUENCE metrics_id_seq TO monitoring_system;

CREATE OR REPLACE FUNCTION app_enable_tenant_rls(table_name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', table_name);
  EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', table_name);
  EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I', table_name);
  EXECUTE format(
    'CREATE POLICY tenant_isolation ON %I TO monitoring_app USING (tenant_id = NULLIF(current_setting(''app.current_tenant_id'', true), '''')::uuid) WITH CHECK (tenant_id = NULLIF(current_setting(''app.current_tenant_id'', true), '''')::uuid)',
    table_name);
  EXECUTE format('DROP POLICY IF EXISTS system_access ON %I', table_name);
  EXECUTE format('CREATE POLICY system_access ON %I TO monitoring_system USING (true) WITH CHECK (true)', table_name);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO monitoring_app, monitoring_system', table_name);
END $$;

-- Tables that belong to no tenant: system work only.
CREATE OR REPLACE FUNCTION app_enable_system_rls(table_name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', table_name);
  EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', table_name);
  EXECUTE format('DROP POLICY IF EXISTS system_only ON %I', table_name);
  EXECUTE format('CREATE POLICY system_only ON %I TO monitoring_system USING (true) WITH CHECK (true)', table_name);
  EXECUTE format('REVOKE ALL ON %I FROM monitoring_app', table_name);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO monitoring_system', table_name);
END $$;

-- Every table the earlier migrations protected gets the new policies.
DO $$
DECLARE
  t record;
BEGIN
  FOR t IN SELECT DISTINCT tablename FROM pg_policies WHERE schemaname = current_schema() AND policyname = 'tenant_isolation' LOOP
    PERFORM app_enable_tenant_rls(t.tablename);
  END LOOP;
  FOR t IN SELECT DISTINCT tablename FROM pg_policies WHERE schemaname = current_schema() AND policyname = 'system_only' AND tablename <> 'schema_migrations' LOOP
    PERFORM app_enable_system_rls(t.tablename);
  END LOOP;
END $$;

-- The helper of the first policy reads the old setting; nothing may use it any more.
DROP FUNCTION IF EXISTS app_tenant_visible(uuid);

-- Cross-tenant deletes are system work.
REVOKE ALL ON FUNCTION cleanup_old_metrics(integer, integer, timestamptz) FROM PUBLIC, monitoring_app;
GRANT EXECUTE ON FUNCTION cleanup_old_metrics(integer, integer, timestamptz) TO monitoring_system;
REVOKE ALL ON FUNCTION cleanup_old_fraud_events(integer, timestamptz) FROM PUBLIC, monitoring_app;
GRANT EXECUTE ON FUNCTION cleanup_old_fraud_events(integer, timestamptz) TO monitoring_system;
-- Ingest creates the day's partition inside tenant work.
GRANT EXECUTE ON FUNCTION ensure_metrics_partitions(date, date) TO monitoring_system;
