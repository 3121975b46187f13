#!/usr/bin/env bash
# Builds the libFuzzer targets and runs each for SECONDS (default $FUZZ_SECONDS, else 60).
# Usage: fuzz/run.sh [seconds]   (0: build only)
#   FUZZ_TARGETS="dotenv profile"  run only these targets (default: all)
#   FUZZ_MERGE=1                   afterwards, merge what the runs found into fuzz/corpus/<target> (-merge=1)
#   FUZZ_SEED=N                    libFuzzer's -seed (unset: a fresh one each run)
#   FUZZ_RUNS=N                    stop each target after N inputs (-runs); SECONDS stays the cap
#   FUZZ_FRESH=1                   start from fuzz/corpus only: no .build-fuzz/corpus-<target> of earlier runs,
#                                  the seeds copied in name order to a new directory (on /dev/shm when it can)
#                                  so libFuzzer reads them in the same order on any filesystem
# CI sets all three. With a seed, Swift's hashing is deterministic too (SWIFT_DETERMINISTIC_HASHING) and,
# where personality(2) allows it, address randomization is off (setarch -R: libFuzzer's comparison
# tracing sees addresses): the same checkout repeats much the same run (see fuzz/README.md).
# A failure prints the log's tail and the failing input in base64.
# Each target starts from fuzz/corpus/<target> (kept in git, read only here) and
# writes new inputs to .build-fuzz/corpus-<target>. See fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-${FUZZ_SECONDS:-60}}
TARGETS=${FUZZ_TARGETS:-header document dotenv envfile template profile}
OUT=.build-fuzz
FLAGS=(-sanitize=fuzzer,address -parse-as-library -O -g -I Sources/CSodium -I "$OUT")
TOML=.build/checkouts/TOMLKit/Sources
[ -d "$TOML" ] || swift package resolve >/dev/null
mkdir -p "$OUT"

build_module() { # name, source dir, extra flags… (skipped when the object is newer than the sources)
    local name=$1 dir=$2; shift 2
    [ -f "$OUT/$name.o" ] && [ -z "$(find "$dir" -newer "$OUT/$name.o")" ] && return
    local srcs; mapfile -d '' srcs < <(find "$dir" -name '*.swift' -print0 | sort -z)   # paths may hold spaces
    swiftc "${FLAGS[@]}" "$@" -wmo -module-name "$name" -emit-module -emit-module-path "$OUT/$name.swiftmodule" \
        -c "${srcs[@]}" -o "$OUT/$name.o"
}
build_toml() { # TOMLKit and its C++ core (toml++), instrumented too, built once
    [ -f "$OUT/TOMLKit.o" ] && return
    local srcs; mapfile -d '' srcs < <(find "$TOML/TOMLKit" -name '*.swift' -print0 | sort -z)   # "TOML Data Types/"
    for f in "$TOML"/CTOML/Sources/*.cpp; do
        clang++ -std=c++17 -O1 -g -fsanitize=fuzzer-no-link,address -DTOML_EXCEPTIONS=1 -I "$TOML/CTOML/include" \
            -c "$f" -o "$OUT/ctoml-$(basename "$f" .cpp | tr -c 'A-Za-z0-9\n' _).o"
    done
    swiftc "${FLAGS[@]}" -I "$TOML/CTOML/include" -wmo -module-name TOMLKit -emit-module \
        -emit-module-path "$OUT/TOMLKit.swiftmodule" -c "${srcs[@]}" -o "$OUT/TOMLKit.o"
}
link() { # target, sources and objects…
    local t=$1; shift
    swiftc "${FLAGS[@]}" -I "$TOML/CTOML/include" fuzz/Main.swift "$@" -lsodium -lstdc++ -o "$OUT/fuzz-$t"
}
{
    build_module Common Sources/Common
    build_module Age Sources/Age
    build_module Vault Sources/Vault
    for t in $TARGETS; do
        case $t in
            header) link header fuzz/targets/Header.swift "$OUT/Common.o" "$OUT/Age.o" ;;
            document) link document fuzz/targets/Document.swift "$OUT/Common.o" "$OUT/Age.o" "$OUT/Vault.o" ;;
            dotenv|envfile)
                f=Dotenv; [ "$t" = envfile ] && f=EnvFile
                link "$t" "fuzz/targets/$f.swift" fuzz/targets/DotenvCommon.swift "$OUT/Common.o" "$OUT/Age.o" "$OUT/Vault.o" ;;
            template|profile)
                build_toml
                build_module Accounts Sources/Accounts
                build_module Profile Sources/Profile -enable-testing -I "$TOML/CTOML/include"
                extra=(); [ "$t" = template ] && extra=(Sources/Launch/TemplateRender.swift)
                link "$t" "fuzz/targets/${t^}.swift" "${extra[@]}" "$OUT/Profile.o" "$OUT/Accounts.o" "$OUT/Vault.o" "$OUT/Age.o" "$OUT/Common.o" "$OUT/TOMLKit.o" "$OUT"/ctoml-*.o ;;
            *) echo "fuzz: unknown target $t" >&2; exit 2 ;;
        esac
    done
} 2>"$OUT/build.log" || { grep -v 'Cannot export local symbol' "$OUT/build.log" | grep -v warning | tail -40; exit 1; }

[ "$SECONDS_EACH" = 0 ] && exit 0

# Extra header seeds: the CCTV age files after their text header.
mkdir -p "$OUT/seeds-header"
for f in Tests/AgeTests/Fixtures/cctv/*; do
    case "$f" in *README*|*LICENSE*) continue;; esac
    grep -q '^compressed: zlib' "$f" && continue
    python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.stdout.buffer.write(d[d.index(b"\n\n")+2:])' "$f" \
        > "$OUT/seeds-header/$(basename "$f")"
done

status=0
fixed=(); [ -n "${FUZZ_SEED:-}" ] && fixed=(-seed="$FUZZ_SEED") && export SWIFT_DETERMINISTIC_HASHING=1
norand=(); [ -n "${FUZZ_SEED:-}" ] && setarch -R true 2>/dev/null && norand=(setarch -R)
# FUZZ_FRESH: the seed directories copied, file by file in name order, into one new directory.
fresh_seeds() { # target, seed dirs… -> prints the new directory
    local t=$1 base=/dev/shm; shift
    [ -d "$base" ] && [ -w "$base" ] || base=$OUT
    # A fixed name per checkout: the path is in libFuzzer's argv, so on its stack.
    local d; d="$base/rwk-fuzz-seeds-$t-$(printf %s "$PWD" | cksum | cut -d' ' -f1)"
    rm -rf "$d" && mkdir -m 700 "$d"
    local s f
    for s in "$@"; do find "$s" -maxdepth 1 -type f; done | LC_ALL=C sort | while IFS= read -r f; do
        cp "$f" "$d/$(basename "$(dirname "$f")")-$(basename "$f")"
    done
    echo "$d"
}
made=()
trap 'rm -rf ${made[@]+"${made[@]}"}' EXIT
[ -n "${FUZZ_RUNS:-}" ] && fixed+=(-runs="$FUZZ_RUNS")
# No Swift backtracer on a crash (libFuzzer and ASan print the stack; the backtracer trips ASan and may hang).
export SWIFT_BACKTRACE=enable=no
for t in $TARGETS; do
    max_len=4096; [ "$t" = header ] && max_len=65536
    leaks=1; case $t in template|profile) leaks=0;; esac  # TOMLKit 0.6.0 leaks (see README)
    seeds=(fuzz/corpus/$t); [ "$t" = header ] && seeds+=("$OUT/seeds-header")
    if [ "${FUZZ_FRESH:-}" = 1 ]; then
        rm -rf "$OUT/corpus-$t"
        seeds=("$(fresh_seeds "$t" "${seeds[@]}")")
        made+=("${seeds[0]}")
    fi
    mkdir -p "$OUT/corpus-$t"
    rm -f "$OUT/crash-$t-"*   # only this run's failures are printed below
    echo "fuzz: $t for ${SECONDS_EACH}s${FUZZ_RUNS:+ or $FUZZ_RUNS inputs}${FUZZ_SEED:+, seed $FUZZ_SEED}${norand[0]:+, no ASLR}"
    if ! ASAN_OPTIONS=detect_leaks=$leaks ${norand[@]+"${norand[@]}"} "$OUT/fuzz-$t" -max_total_time="$SECONDS_EACH" -max_len=$max_len -timeout=10 -detect_leaks=$leaks -rss_limit_mb=4096 \
            -print_final_stats=1 ${fixed[@]+"${fixed[@]}"} -artifact_prefix="$OUT/crash-$t-" "$OUT/corpus-$t" "${seeds[@]}" 2>"$OUT/fuzz-$t.log"; then
        echo "fuzz: $t FAILED; last lines of $OUT/fuzz-$t.log:"; tail -40 "$OUT/fuzz-$t.log"; status=1
        for f in "$OUT/crash-$t-"*; do   # the input itself, so a CI log alone can replay it
            [ -f "$f" ] || continue
            echo "fuzz: $f ($(stat -c %s "$f") bytes; the first 6000 in base64: base64 -d > input; $OUT/fuzz-$t input):"
            head -c 6000 "$f" | base64 -w 76
        done
    else
        grep -E '^stat::number_of_executed_units' "$OUT/fuzz-$t.log" || true
        echo "fuzz: $t passed, no crash and no property failure"
    fi
    if [ "${FUZZ_MERGE:-}" = 1 ]; then
        mkdir -p "$OUT/merged-$t"
        ASAN_OPTIONS=detect_leaks=$leaks "$OUT/fuzz-$t" -merge=1 -max_len=$max_len -detect_leaks=$leaks "$OUT/merged-$t" "fuzz/corpus/$t" "$OUT/corpus-$t" 2>>"$OUT/fuzz-$t.log"
        rm -rf "fuzz/corpus/$t" && mv "$OUT/merged-$t" "fuzz/corpus/$t"
    fi
done
exit $status
