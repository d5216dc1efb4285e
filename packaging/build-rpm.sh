#!/bin/sh
# build-rpm.sh [-r REV] [OUTDIR] - build the relay RPM with rpmbuild.
#
# Makes relay-VERSION.tar.gz from this tree (or, with -r, from git revision
# REV), then runs `rpmbuild -bb packaging/rpm/relay.spec` in a temporary
# top directory and moves the binary RPMs to OUTDIR (default: build-rpm/
# at the top of the tree).  On Debian (the rpm package) the build
# dependencies are not in an RPM database, so they are not checked
# (--nodeps): install the -dev packages of packaging/install-deps.sh.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
rev=
if [ "${1:-}" = "-r" ]; then
	rev=${2:?"usage: build-rpm.sh [-r REV] [OUTDIR]"}
	shift 2
fi
out=${1:-"$src/build-rpm"}

if ! command -v rpmbuild >/dev/null 2>&1; then
	echo "build-rpm.sh: rpmbuild is missing (Debian package rpm)" >&2
	exit 1
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/relay-rpm.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

version=$(sed -n 's/^Version: *//p' "$src/packaging/rpm/relay.spec")
cmake_version=$(sed -n 's/^project(relay VERSION \([0-9.]*\).*/\1/p' \
	"$src/CMakeLists.txt")
if [ "$version" != "$cmake_version" ]; then
	echo "build-rpm.sh: relay.spec says $version, CMakeLists.txt says" \
		"$cmake_version: update the spec" >&2
	exit 1
fi

mkdir -p "$work/SOURCES" "$work/tree/relay-$version"
if [ -n "$rev" ]; then
	git -C "$src" archive --format=tar "$rev" |
		(cd "$work/tree/relay-$version" && tar -xf -)
else
	(cd "$src" && tar --exclude=./.git --exclude='./build*' -cf - .) |
		(cd "$work/tree/relay-$version" && tar -xf -)
fi
tar -C "$work/tree" -czf "$work/SOURCES/relay-$version.tar.gz" \
	"relay-$version"

nodeps=
if [ -f /etc/debian_version ]; then
	nodeps=--nodeps
fi
# shellcheck disable=SC2086
rpmbuild -bb $nodeps --define "_topdir $work" \
	"$work/tree/relay-$version/packaging/rpm/relay.spec"

find "$work/RPMS" -name '*.rpm' -exec mv -f {} "$out/" \;
echo "build-rpm.sh: built $(ls "$out"/relay-"$version"-*.rpm)"
