#!/bin/sh
# install-deps.sh - install every Debian 12 package relay needs to build,
# test and benchmark. Run as root on a fresh machine; safe to run again.
set -eu

export DEBIAN_FRONTEND=noninteractive

pkgs="
	build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
	libssl-dev libconfuse-dev libsqlite3-dev libcmocka-dev musl-tools
	sqlite3 openssl python3 ca-certificates
	postfix libsasl2-modules sasl2-bin swaks
	php-cli php-symfony-mailer
	mandoc util-linux procps passwd iproute2
	debhelper dpkg-dev fakeroot systemd rpm debootstrap
"

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: run as root (apt-get needs it)" >&2
	exit 77
fi

# Postfix is installed only as a loopback test smarthost: keep debconf quiet
# and never start it as a system service here; the tests start their own.
echo "postfix postfix/main_mailer_type select No configuration" |
	debconf-set-selections

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		grep -q '^install ok installed' || missing="$missing $p"
done

if [ -n "$missing" ]; then
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi

# The package's maintainer scripts may have started the system postfix;
# tests run their own instances on other ports.
if command -v postfix >/dev/null 2>&1; then
	postfix stop >/dev/null 2>&1 || true
fi
exit 0
