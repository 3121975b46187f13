#!/usr/bin/env bash
# Builds the release binary and runs the benchmarks; prints the table.
#   bench/run.sh           full run (~5 minutes), also writes BENCHMARKS.md
#   bench/run.sh --quick   a smoke test with small sizes; writes nothing
# It installs nothing. It needs: hyperfine, tini, age, a C compiler, make, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for t in hyperfine tini age cc make python3; do command -v "$t" >/dev/null || missing+=("$t"); done
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench: missing ${missing[*]}; on Debian: sudo apt-get install hyperfine tini age gcc make python3" >&2
    exit 2
fi
echo "bench: building the release binary (a fully static executable)" >&2
make -s release SWIFT_SCRATCH=.build-release >&2
RWK="$(make -s bin-path SWIFT_SCRATCH=.build-release)"
if [ "${1:-}" = "--quick" ]; then
    exec python3 bench/bench.py --rwk "$RWK" --quick
fi
exec python3 bench/bench.py --rwk "$RWK" --write
