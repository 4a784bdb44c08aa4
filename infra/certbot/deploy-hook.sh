#!/bin/sh
# certbot deploy hook for yubin: runs after a certificate is issued or renewed.
# Copies the new key and chain to /etc/yubin/tls (certbot keeps /etc/letsencrypt/live and
# archive readable by root only; the services run as `yubin`), then makes the running services
# load them. Register it for the mail certificate only:
#   certbot certonly ... -d mail.example.com --deploy-hook /opt/yubin/infra/certbot/deploy-hook.sh
# certbot stores the hook in that certificate's renewal file, so renewals run it too.
set -eu
: "${RENEWED_LINEAGE:?certbot sets RENEWED_LINEAGE; run this as a certbot deploy hook}"
DEST=${YUBIN_TLS_DIR:-/etc/yubin/tls}
GROUP=${YUBIN_TLS_GROUP:-yubin}
COMPOSE_FILE=${YUBIN_COMPOSE_FILE:-/opt/yubin/infra/docker/compose.yaml}

install -d -o root -g "$GROUP" -m 0750 "$DEST"
# Each file is written beside its final name and renamed over it, so a service never reads half
# a file. A service that reads the new key with the old chain in between logs a failed reload and
# keeps its current certificate; the signal below then loads the matching pair.
for f in privkey.pem fullchain.pem; do
  install -o root -g "$GROUP" -m 0640 "$RENEWED_LINEAGE/$f" "$DEST/.$f.new"
  mv -f "$DEST/.$f.new" "$DEST/$f"
done

# systemd installation: SIGHUP through ExecReload; does nothing for units that are not running.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled --quiet yubin.target 2>/dev/null; then
  systemctl try-reload-or-restart yubin-smtp.service yubin-pop3.service yubin-imap.service
fi
# Docker installation: the same signal to the three containers.
if command -v docker >/dev/null 2>&1 && [ -f "$COMPOSE_FILE" ] &&
  [ -n "$(docker compose -f "$COMPOSE_FILE" ps -q 2>/dev/null)" ]; then
  docker compose -f "$COMPOSE_FILE" kill -s HUP smtp pop3 imap
fi
