#!/usr/bin/env bash
# Checks a built run-with-keys binary (default: the release build of `make release`):
#   - it is a fully static executable (no program interpreter, no DT_NEEDED);
#   - neither ICU nor FoundationInternationalization is linked into it. They come in
#     silently when a call such as `String.range(of:)` binds to Foundation through
#     TOMLKit's public `import Foundation` (MemberImportVisibility in Package.swift
#     makes that a compile error; this catches any other way back in).
# Exit 0 when both hold, 1 with a line per problem otherwise.
set -euo pipefail
bin="${1:?usage: tests/check-binary.sh PATH-TO-run-with-keys}"
[ -f "$bin" ] || { echo "check-binary: no file $bin" >&2; exit 1; }
fail=0
if timeout 60 readelf -lW "$bin" | grep -q "program interpreter"; then
    echo "check-binary: $bin is dynamically linked (has a program interpreter); build with -Xswiftc -static-executable" >&2
    fail=1
fi
if timeout 60 readelf -dW "$bin" | grep -q "(NEEDED)"; then
    echo "check-binary: $bin needs shared libraries: $(readelf -dW "$bin" | grep NEEDED | sed 's/.*\[\(.*\)\]/\1/' | tr '\n' ' ')" >&2
    fail=1
fi
symbols="$(timeout 120 nm "$bin" 2>/dev/null | awk '{print $NF}')" || true
if [ -z "$symbols" ]; then
    echo "check-binary: $bin has no symbol table (stripped?); check an unstripped build" >&2
    exit 1
fi
leaked="$(grep -E 'icudt[0-9]+_dat|FoundationInternationalization|FoundationICU' <<<"$symbols" | head -5 || true)"
if [ -n "$leaked" ]; then
    echo "check-binary: ICU / FoundationInternationalization is linked into $bin, e.g.:" >&2
    sed 's/^/    /' <<<"$leaked" >&2
    echo "check-binary: hint: look for a Foundation method called through TOMLKit's import (use the standard library's firstRange(of:) and friends)" >&2
    fail=1
fi
[ "$fail" -eq 0 ] && echo "check-binary: $bin is static, without ICU ($(( $(stat -c %s "$bin") / 1048576 )) MiB)"
exit "$fail"
