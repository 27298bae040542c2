#!/usr/bin/env bash
# Installs the system packages the product needs and that Python packages cannot bring:
# the PostgreSQL server binaries (for the local operational database), and for the browser tests
# (with --test) Debian's Chromium, its driver and CJK fonts (without them Chinese renders as boxes)
# and docker-compose, whose `config` command validates docker-compose.yml.
# Safe to re-run: installs only what is missing. Needs root (or sudo) on Debian/Ubuntu.
set -euo pipefail

want=()
have_pg=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | head -n1 || true)
[ -n "$have_pg" ] || want+=(postgresql)
if [ "${1:-}" = "--test" ]; then
  command -v chromium >/dev/null 2>&1 || want+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || want+=(chromium-driver)
  dpkg -s fonts-noto-cjk >/dev/null 2>&1 || want+=(fonts-noto-cjk)
  # validates docker-compose.yml in the tests (no Docker engine needed for `config`)
  command -v docker-compose >/dev/null 2>&1 || want+=(docker-compose)
fi
[ ${#want[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root to install: ${want[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "installing system packages: ${want[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
