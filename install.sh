#!/usr/bin/env bash
# Installs run-with-keys on Debian 12: system packages, a release build, and
# /usr/local/bin/run-with-keys. Needs root (or sudo) and a Swift 6 toolchain on PATH.
set -euo pipefail
cd "$(dirname "$0")"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# What run-with-keys builds against, age, and make (for `make test`); then the Swift
# toolchain's own dependencies as swift.org lists them for Debian 12
# (https://www.swift.org/install/linux/tarball/), so a toolchain unpacked by hand works.
PACKAGES="libsodium-dev libseccomp-dev pkg-config zlib1g-dev age make ca-certificates"
SWIFT_DEPS="binutils gcc git libc6-dev libcurl4-openssl-dev libedit-dev libicu-dev libncurses-dev
    libpython3-dev libsqlite3-dev libstdc++-12-dev libxml2-dev tzdata uuid-dev"
timeout --foreground 600 $SUDO apt-get -o DPkg::Lock::Timeout=120 update -qq
# shellcheck disable=SC2086 # word splitting of the package lists is intended
timeout --foreground 1800 $SUDO apt-get -o DPkg::Lock::Timeout=120 install -y -qq $PACKAGES $SWIFT_DEPS >/dev/null
command -v swift >/dev/null || { echo "install.sh: a Swift 6 toolchain (swift.org) must be on PATH" >&2; exit 1; }
# A fully static executable, built with the Makefile's SWIFT_RELEASE_FLAGS.
make -s release
$SUDO install -m 0755 "$(make -s bin-path)" /usr/local/bin/run-with-keys
# The man page, from the command definitions (swift-argument-parser's GenerateManual plugin; debug, so the release flags stay).
swift package plugin generate-manual --configuration debug >/dev/null
$SUDO install -D -m 0644 .build/plugins/GenerateManual/outputs/run-with-keys/run-with-keys.1 "${PREFIX:-/usr/local}/share/man/man1/run-with-keys.1"
echo "installed /usr/local/bin/run-with-keys"
