#!/bin/sh
# Installs the Debian packages listed in scripts/debian-packages.txt that are missing.
# As root it installs them with apt-get; otherwise it prints the exact command and fails,
# so that `make run` and `make test` never half-build on a machine that lacks something.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pkgs=$(grep -v '^[[:space:]]*#' "$here/debian-packages.txt" | tr -s ' \n' ' ')
missing=""
for p in $pkgs; do
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  # A package counts as installed when an installed one provides it (NodeSource's nodejs
  # provides npm and conflicts with Debian's npm package).
  if [ "$st" != "installed" ] && dpkg-query -W -f='${db:Status-Status} ${Provides}\n' 2>/dev/null |
      sed -n 's/^installed //p' | tr ',' '\n' | sed 's/(.*//; s/[[:space:]]//g' | grep -qx "$p"; then
    st=installed
  fi
  [ "$st" = "installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages. Install them with:" >&2
  echo "  sudo apt-get install -y$missing" >&2
  exit 1
fi
echo "Installing missing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
# Debian's postgresql package would create and start a system-wide cluster; the platform
# runs its own, so ask postgresql-common not to create one.
mkdir -p /etc/postgresql-common
if [ ! -f /etc/postgresql-common/createcluster.conf ]; then
  echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold$missing
