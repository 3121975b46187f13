#!/usr/bin/env bash
# Builds the libFuzzer targets and runs each for $FUZZ_SECONDS (default 60).
# Usage: fuzz/run.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-${FUZZ_SECONDS:-60}}
OUT=.build-fuzz
mkdir -p "$OUT/corpus-header" "$OUT/corpus-document"
FLAGS=(-sanitize=fuzzer,address -parse-as-library -O -g -I Sources/CSodium -I "$OUT")

build_module() { # name, source dir
    swiftc "${FLAGS[@]}" -wmo -module-name "$1" -emit-module -emit-module-path "$OUT/$1.swiftmodule" \
        -c $(find "$2" -name '*.swift' | sort) -o "$OUT/$1.o"
}
{
    build_module Common Sources/Common
    build_module Age Sources/Age
    build_module Vault Sources/Vault
    swiftc "${FLAGS[@]}" fuzz/Fuzz.swift "$OUT/Common.o" "$OUT/Age.o" "$OUT/Vault.o" -lsodium -o "$OUT/fuzz-header"
    swiftc "${FLAGS[@]}" -D FUZZ_DOCUMENT fuzz/Fuzz.swift "$OUT/Common.o" "$OUT/Age.o" "$OUT/Vault.o" -lsodium -o "$OUT/fuzz-document"
} 2>"$OUT/build.log" || { grep -v 'Cannot export local symbol' "$OUT/build.log" | tail -40; exit 1; }

# Seeds: the CCTV age files (after their text header) and sample documents.
for f in Tests/AgeTests/Fixtures/cctv/*; do
    case "$f" in *README*|*LICENSE*) continue;; esac
    grep -q '^compressed: zlib' "$f" && continue
    python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.stdout.buffer.write(d[d.index(b"\n\n")+2:])' "$f" \
        > "$OUT/corpus-header/$(basename "$f")"
done
cp fuzz/seeds/document/* "$OUT/corpus-document/"

status=0
for t in header document; do
    echo "fuzz: $t for ${SECONDS_EACH}s"
    if ! "$OUT/fuzz-$t" -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=4096 \
            -artifact_prefix="$OUT/crash-$t-" "$OUT/corpus-$t" fuzz/seeds/$t 2>"$OUT/fuzz-$t.log"; then
        echo "fuzz: $t FAILED; last lines of $OUT/fuzz-$t.log:"; tail -40 "$OUT/fuzz-$t.log"; status=1
    else
        grep -E '^#[0-9]+.*(DONE|pulse)' "$OUT/fuzz-$t.log" | tail -1 || true
        echo "fuzz: $t passed, no crash and no property failure"
    fi
done
exit $status
