#!/bin/sh
# run.sh - the full test suite, as CI runs it (README's test command).
#
#   1. static checks: clang-format, the banned-function grep
#   2. gcc -O2 build with warnings as errors; every ctest label
#   3. clang build with ASan+UBSan and warnings as errors; unit, fuzz-replay
#      and integration tests under the sanitizers
#   4. clang libFuzzer build; each harness fuzzes briefly from its corpus
#
# Build trees go to build-ci-*/ beside the sources. Exits non-zero on the
# first failing stage.
set -eu
cd "$(dirname "$0")/.."
jobs=${RELAY_JOBS:-2}

stage() { printf '\n=== %s ===\n' "$*"; }

stage "format and banned functions"
sh tests/check-source.sh

stage "gcc -O2, -Werror: build and all tests"
# -O2 with asserts kept: the optimiser's flow analysis finds warnings
# (maybe-uninitialized) that -O0 does not.
cmake -S . -B build-ci-gcc -DCMAKE_C_COMPILER=gcc -DRELAY_WERROR=ON \
	-DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS=-O2 >/dev/null
cmake --build build-ci-gcc -j "$jobs"
ctest --test-dir build-ci-gcc -j "$jobs" --output-on-failure

stage "clang, ASan+UBSan, -Werror: build and tests"
cmake -S . -B build-ci-asan -DCMAKE_C_COMPILER=clang -DRELAY_WERROR=ON \
	-DRELAY_SANITIZE=ON >/dev/null
cmake --build build-ci-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir build-ci-asan -j "$jobs" --output-on-failure \
	-L 'unit|fuzz|integration' -LE 'real|slow'

stage "clang, libFuzzer: short fuzz runs"
cmake -S . -B build-ci-fuzz -DCMAKE_C_COMPILER=clang -DRELAY_FUZZ=ON \
	>/dev/null
cmake --build build-ci-fuzz -j "$jobs"
ctest --test-dir build-ci-fuzz -j "$jobs" --output-on-failure -L fuzz

stage "all stages passed"
