#!/bin/sh
# build-deb.sh [-r REV] [OUTDIR] - build the Debian package "relay".
#
# Copies the source tree (without .git and build directories), or with
# -r the tree of git revision REV (for example HEAD: only committed work),
# to a temporary directory, puts packaging/debian/ in place as debian/, runs
# `dpkg-buildpackage -us -uc -b` there and moves the .deb (and the
# .buildinfo and .changes) to OUTDIR (default: build-deb/ at the top of the
# tree).  Needs the packages of packaging/install-deps.sh (debhelper,
# dpkg-dev and the -dev libraries); no root needed.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
rev=
if [ "${1:-}" = "-r" ]; then
	rev=${2:?"usage: build-deb.sh [-r REV] [OUTDIR]"}
	shift 2
fi
out=${1:-"$src/build-deb"}

for tool in dpkg-buildpackage dh dpkg-parsechangelog; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "build-deb.sh: $tool is missing; run packaging/install-deps.sh" >&2
		exit 1
	fi
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/relay-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

tree="$work/relay"
mkdir "$tree"
if [ -n "$rev" ]; then
	git -C "$src" archive --format=tar "$rev" | (cd "$tree" && tar -xf -)
else
	(cd "$src" && tar --exclude=./.git --exclude='./build*' \
		--exclude=./debian -cf - .) | (cd "$tree" && tar -xf -)
fi
cp -R "$tree/packaging/debian" "$tree/debian"

# The package version is the changelog's; it must be the project's too.
deb_version=$(dpkg-parsechangelog -l "$tree/debian/changelog" -S Version)
cmake_version=$(sed -n 's/^project(relay VERSION \([0-9.]*\).*/\1/p' \
	"$tree/CMakeLists.txt")
if [ "$deb_version" != "$cmake_version" ]; then
	echo "build-deb.sh: packaging/debian/changelog says $deb_version," \
		"CMakeLists.txt says $cmake_version: add a changelog entry" >&2
	exit 1
fi

(cd "$tree" && dpkg-buildpackage -us -uc -b)

for f in "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes; do
	[ -e "$f" ] && mv -f "$f" "$out/"
done
echo "build-deb.sh: built $(ls "$out"/relay_"$deb_version"_*.deb)"
