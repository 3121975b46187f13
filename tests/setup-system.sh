#!/usr/bin/env bash
# Makes sure the Debian 12 packages `make test` needs are installed, and installs the
# missing ones with apt-get (as root, or through sudo). Quick when nothing is missing:
# one dpkg-query call. When it can't install, it fails with the exact apt-get line.
# Usage: tests/setup-system.sh        (called by `make test`; see README "Install and test")
set -euo pipefail

# One line per package: what uses it. Keep README.md "System packages" in step.
PACKAGES=(
    libsodium-dev     # swift build: the vault's crypto (CSodium)
    libseccomp-dev    # swift build: the seccomp filter (CSeccomp)
    pkg-config        # swift build: finds the two libraries above
    zlib1g-dev        # swift build: compressed age fixtures in the unit tests
    python3           # pytest, the test bots, fuzz seed extraction; /usr/bin/python3 makes .venv
    python3-venv      # `python3 -m venv .venv` (ensurepip)
    age               # age and age-keygen: interop tests against the reference CLI
    procps            # pgrep: the PID-namespace tests look for left-over processes
    util-linux        # unshare (PID namespace tests), setpriv (tests that drop to uid 65534), prlimit
    binutils          # readelf, nm: tests/check-binary.sh (static, no ICU)
    passwd            # useradd, groupadd, userdel: the deploy permission tests
    zsh               # completion script tests (a real pty and TAB)
    fish              # completion script tests
    man-db            # `man run-with-keys` renders
    groff-base        # man's formatter
    systemd           # systemd-analyze verify on the example units
)

self=tests/setup-system.sh
command -v dpkg-query >/dev/null || {
    echo "$self: warning: no dpkg-query (not Debian?); not checking system packages: ${PACKAGES[*]}" >&2
    exit 0
}

# dpkg-query prints "<name> ii " for each installed package and complains about unknown ones.
installed=$(timeout 30 dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null || true)
missing=()
for p in "${PACKAGES[@]}"; do
    grep -qx "$p ii *" <<<"$installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

line="apt-get install -y ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null && { [ -t 0 ] || timeout 10 sudo -n true 2>/dev/null; }; then
    SUDO=(sudo)
else
    echo "$self: error: the tests need Debian packages that are not installed: ${missing[*]}" >&2
    echo "$self: hint: as root: apt-get update && $line" >&2
    exit 1
fi

echo "$self: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
APT=(-o DPkg::Lock::Timeout=120 -q)
timeout --foreground 600 "${SUDO[@]}" apt-get "${APT[@]}" update >/dev/null
timeout --foreground 900 "${SUDO[@]}" apt-get "${APT[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null || {
    echo "$self: error: apt-get could not install: ${missing[*]}" >&2
    echo "$self: hint: as root: apt-get update && $line" >&2
    exit 1
}
