#!/bin/bash
# Runs once, when the PostgreSQL container starts on an empty data volume: one role and
# one database for Airflow's metadata (and Celery's results), one for facesort's state.
set -euo pipefail
: "${AIRFLOW_DB_PASSWORD:?}" "${FACESORT_DB_PASSWORD:?}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v airflow_password="$AIRFLOW_DB_PASSWORD" -v facesort_password="$FACESORT_DB_PASSWORD" <<'SQL'
CREATE ROLE airflow LOGIN PASSWORD :'airflow_password';
CREATE DATABASE airflow OWNER airflow;
CREATE ROLE facesort LOGIN PASSWORD :'facesort_password';
CREATE DATABASE facesort OWNER facesort;
SQL
