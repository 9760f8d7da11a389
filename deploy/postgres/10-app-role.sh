#!/bin/sh
# First start of the postgres image (docker-entrypoint-initdb.d), as its superuser: the application role "tasks"
# (no superuser, no CREATEDB/CREATEROLE) owning database "tasks". Migrations and hosts connect as it.
set -eu
psql -v ON_ERROR_STOP=1 -X --username "$POSTGRES_USER" --dbname postgres -v pw="$TASKS_PG_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE tasks LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', :'pw') \gexec
CREATE DATABASE tasks OWNER tasks;
SQL
