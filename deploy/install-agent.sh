#!/usr/bin/env bash
# Installs the agent on a server and registers it.
#
#   sudo deploy/install-agent.sh --binary ./tender-agent \
#        --controller https://ctl.example.com:8443 \
#        --activation-id ID --activation-code CODE --ca-fingerprint sha256:HEX [--name NAME]
#
# Copies the binary to /usr/local/bin, registers (state in /var/lib/tender-agent),
# installs and starts the systemd unit. Safe to re-run: an already registered host
# is left registered unless --force is given.
set -euo pipefail

binary="" ; register_args=() ; force=()
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --force) force=(--force); shift ;;
    --controller|--activation-id|--activation-code|--ca-fingerprint|--name) register_args+=("$1" "$2"); shift 2 ;;
    *) echo "install-agent: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$binary" ] && [ -x "$binary" ] || { echo "install-agent: --binary must name the tender-agent executable" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "install-agent: run as root" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
install -m 0755 "$binary" /usr/local/bin/tender-agent
if [ ! -f /var/lib/tender-agent/identity.json ] || [ ${#force[@]} -gt 0 ]; then
  /usr/local/bin/tender-agent register --state-dir /var/lib/tender-agent "${register_args[@]}" "${force[@]}"
fi
install -m 0644 "$here/systemd/tender-agent.service" /etc/systemd/system/tender-agent.service
systemctl daemon-reload
systemctl enable --now tender-agent.service
/usr/local/bin/tender-agent status --state-dir /var/lib/tender-agent
