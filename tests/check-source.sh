#!/bin/sh
# check-source.sh - static checks on the C sources: clang-format clean and
# none of the banned string functions of STYLE.md section 4.
set -eu
cd "$(dirname "$0")/.."
files=$(find src tests -name '*.[ch]' | sort)
rc=0
if command -v clang-format >/dev/null 2>&1; then
	for f in $files; do
		if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
			echo "not clang-formatted: $f (run: clang-format -i $f)"
			rc=1
		fi
	done
else
	echo "clang-format missing: run packaging/install-deps.sh" >&2
	rc=1
fi
banned='\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|strncpy)[[:space:]]*\('
if grep -nE "$banned" $files; then
	echo "banned string functions used (STYLE.md section 4)"
	rc=1
fi
[ "$rc" -eq 0 ] && echo "source checks passed"
exit "$rc"
