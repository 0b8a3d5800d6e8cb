#!/bin/sh
# Entrypoint of docker-compose.yml's Postgres: serves TLS with the certificate generate-secrets.sh made.
# Postgres refuses a key file that is not its own with mode 0600, and a Docker secret keeps the host's owner and
# mode, so it starts from copies (as root, before the image's entrypoint drops to the postgres user).
set -eu
tls=/var/lib/postgresql/tls
install -d -o postgres -g postgres -m 0700 "$tls"
install -o postgres -g postgres -m 0600 /run/secrets/postgres-server-key "$tls/server.key"
install -o postgres -g postgres -m 0644 /run/secrets/postgres-server-cert "$tls/server.crt"
exec docker-entrypoint.sh postgres -c ssl=on -c ssl_cert_file="$tls/server.crt" -c ssl_key_file="$tls/server.key" "$@"
