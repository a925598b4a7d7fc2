#!/bin/sh
# Runs after every start of PostgreSQL (a postStart hook): makes the login roles and databases of
# Authentik and Dex exist, with the passwords of the Secret postgresql-credentials.
#
# The image's entrypoint applies POSTGRES_PASSWORD only when it initialises an empty data
# volume. Setting every password here instead keeps the Secret the one source of truth: if it is
# ever generated anew, the database follows at the next start rather than locking Authentik and
# Dex out of data that survived on the volume.
#
# Connects through the Unix socket, which the image's pg_hba.conf trusts for local users; TCP
# connections always need a password.
set -eu

: "${POSTGRES_PASSWORD:?is not set (Secret postgresql-credentials, key postgres-password)}"
: "${AUTHENTIK_DB_PASSWORD:?is not set (Secret postgresql-credentials, key authentik-password)}"
: "${DEX_DB_PASSWORD:?is not set (Secret postgresql-credentials, key dex-password)}"

socket_dir=/var/run/postgresql

ensure() {
  # \getenv keeps the passwords out of the command line; :'name' quotes them as SQL literals.
  psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 -h "$socket_dir" -U postgres -d postgres <<'SQL'
\getenv postgres_password POSTGRES_PASSWORD
\getenv authentik_password AUTHENTIK_DB_PASSWORD
\getenv dex_password DEX_DB_PASSWORD
ALTER ROLE postgres WITH PASSWORD :'postgres_password';
SELECT 'CREATE ROLE authentik' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authentik') \gexec
ALTER ROLE authentik WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'authentik_password';
SELECT 'CREATE DATABASE authentik OWNER authentik' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'authentik') \gexec
SELECT 'CREATE ROLE dex' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dex') \gexec
ALTER ROLE dex WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'dex_password';
SELECT 'CREATE DATABASE dex OWNER dex' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'dex') \gexec
-- Each application reaches its own database only.
REVOKE ALL ON DATABASE authentik FROM PUBLIC;
REVOKE ALL ON DATABASE dex FROM PUBLIC;
SQL
}

# On the very first start the entrypoint runs a temporary server to initialise the volume and
# then restarts it, so a connection may be cut once: try again until the real server answers.
attempt=1
until pg_isready -q -h "$socket_dir" -U postgres && ensure; do
  if [ "$attempt" -ge 90 ]; then
    echo "ensure-roles: PostgreSQL did not accept the role setup within 3 minutes" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep 2
done
