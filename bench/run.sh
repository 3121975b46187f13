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
# Measured as install.sh leaves it: install(1) writes the binary through the page
# cache (large folios), as apt does tini. The linker's own output (written through
# a shared mapping) launches about 0.15 ms slower, and a binary the kernel read back
# through exec's page faults (after a reboot, or eviction) about 0.5 ms slower
# (bench/analysis.md, "The binary's page cache").
bin_dir="$(mktemp -d /var/tmp/rwk-bench-bin-XXXXXX)"
trap 'rm -rf "$bin_dir"' EXIT
install -m 0755 "$(make -s bin-path SWIFT_SCRATCH=.build-release)" "$bin_dir/run-with-keys"
RWK="$bin_dir/run-with-keys"
if [ "${1:-}" = "--quick" ]; then
    python3 bench/bench.py --rwk "$RWK" --quick
    exit
fi
python3 bench/bench.py --rwk "$RWK" --write
