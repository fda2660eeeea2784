#!/usr/bin/env bash
# Installs the Debian packages the tests need (listed in .ci/apt-packages.txt).
# Fails loudly when it cannot: under CI a missing sandbox or browser is a failure, not a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
list=.ci/apt-packages.txt
[ -f "$list" ] || exit 0
missing=()
while read -r pkg; do
  [ -z "$pkg" ] && continue
  case "$pkg" in \#*) continue ;; esac
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done < <(sort -u "$list")
if [ "${#missing[@]}" -eq 0 ]; then
  echo "== system packages: all present"
  exit 0
fi
echo "== installing system packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
