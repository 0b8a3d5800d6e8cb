#!/bin/sh
# Makes what docker-compose.yml reads and the repository never holds:
# - deploy/compose/secrets/nats/: the bus's authorization (nats-auth.conf, public keys only) and one nkey seed per
#   user (`agf nats-config`: each service, the provisioner);
# - deploy/compose/secrets/: a CA, and server certificates it signs for the NATS nodes and Postgres;
# - .env: the Postgres password, the default profile (dev) and the user id the containers read the seeds as.
# Files that exist are kept (run it again after an upgrade: new NATS users get seeds, the others stay).
# Needs openssl and the repository's node_modules (npm ci).
set -eu
cd "$(dirname "$0")/../.."
secrets=deploy/compose/secrets
umask 077
mkdir -p "$secrets"

npx --no-install agf nats-config --out "$secrets/nats" > /dev/null

ec_key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
if [ ! -f "$secrets/ca.pem" ]; then
  # shellcheck disable=SC2086
  openssl req -x509 $ec_key -keyout "$secrets/ca.key" -out "$secrets/ca.pem" -days 825 -subj "/CN=agf-compose-ca" 2> /dev/null
fi

# issue NAME SUBJECT_ALT_NAMES: a certificate for both ends of a TLS connection (nats-server's routes present
# theirs to each other, so serverAuth alone is refused).
issue() {
  [ -f "$secrets/$1.pem" ] && return 0
  # shellcheck disable=SC2086
  openssl req $ec_key -keyout "$secrets/$1.key" -out "$secrets/$1.csr" -subj "/CN=$1" 2> /dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$2" > "$secrets/$1.ext"
  openssl x509 -req -in "$secrets/$1.csr" -CA "$secrets/ca.pem" -CAkey "$secrets/ca.key" -CAcreateserial \
    -out "$secrets/$1.pem" -days 825 -extfile "$secrets/$1.ext" 2> /dev/null
  rm -f "$secrets/$1.csr" "$secrets/$1.ext"
}
issue nats-server "DNS:nats-1,DNS:nats-2,DNS:nats-3,DNS:localhost,IP:127.0.0.1"
issue postgres-server "DNS:postgres,DNS:localhost,IP:127.0.0.1"

touch .env
set_default() { grep -q "^$1=" .env || printf '%s=%s\n' "$1" "$2" >> .env; }
set_default COMPOSE_PROFILES dev
# Hex: it goes into postgres:// URLs unescaped.
set_default POSTGRES_PASSWORD "$(openssl rand -hex 24)"
# The seeds are this user's files, mode 0600: the cluster profile's AGF containers run as this user to read them.
set_default AGF_UID "$(id -u)"
set_default AGF_GID "$(id -g)"

echo "secrets in $secrets, settings in .env"
