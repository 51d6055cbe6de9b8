#!/usr/bin/env bash
# System packages the project needs, installed only when missing (Debian/Ubuntu, apt-get).
# - PostgreSQL server binaries for the embedded warehouse and Airflow's metadata database.
# - The white paper: Noto CJK fonts (Chinese charts, HTML and PDF), poppler-utils (pdftotext, pdffonts,
#   pdftoppm in its tests), chromium (headless check of the HTML).
# - redis-server: the Celery broker of the production executor, run natively by tests/test_celery.py.
# Idempotent and offline once installed: apt-get runs only when something is missing.
set -euo pipefail

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# grep reads the whole list (not -q): under pipefail an early exit would kill fc-list by SIGPIPE
# and report the fonts missing, so every set-up would call apt-get (and fail offline)
fc-list 2>/dev/null | grep "Noto Sans CJK" >/dev/null || need+=(fonts-noto-cjk fontconfig)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)

if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
echo "[ipkpi] installing system packages: ${need[*]}"
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
