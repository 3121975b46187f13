#!/usr/bin/env bash
# Installs run-with-keys on Debian 12: system packages, a release build, and
# /usr/local/bin/run-with-keys. Needs root (or sudo) and a Swift 6 toolchain on PATH.
set -euo pipefail
cd "$(dirname "$0")"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq libsodium-dev libseccomp-dev pkg-config zlib1g-dev age >/dev/null
command -v swift >/dev/null || { echo "install.sh: a Swift 6 toolchain (swift.org) must be on PATH" >&2; exit 1; }
# A fully static executable (see the Makefile's SWIFT_RELEASE_FLAGS).
swift build -c release -Xswiftc -static-executable
$SUDO install -m 0755 "$(swift build -c release -Xswiftc -static-executable --show-bin-path)/run-with-keys" /usr/local/bin/run-with-keys
# The man page, from the command definitions (swift-argument-parser's GenerateManual plugin; debug, so the release flags stay).
swift package plugin generate-manual --configuration debug >/dev/null
$SUDO install -D -m 0644 .build/plugins/GenerateManual/outputs/run-with-keys/run-with-keys.1 "${PREFIX:-/usr/local}/share/man/man1/run-with-keys.1"
echo "installed /usr/local/bin/run-with-keys"
