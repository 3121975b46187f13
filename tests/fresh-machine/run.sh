#!/usr/bin/env bash
# The README's two commands on a fresh Debian 12: a minimal `debootstrap bookworm` root
# filesystem where the Swift toolchain is the only thing added by hand. Not run by CI
# (it needs root, network to a Debian mirror and PyPI, and about 30 minutes).
#
# Usage (as root, on a Debian host):
#   tests/fresh-machine/run.sh [BRANCH]
# On the offline development machine this was written on (Swift packages mirrored under
# /opt/swift-packages, HTTPS through a proxy with its own CA):
#   SWIFT_PACKAGES=/opt/swift-packages EXTRA_CA_CERTS=/usr/local/share/ca-certificates \
#       tests/fresh-machine/run.sh
# Environment:
#   SWIFT_TOOLCHAIN  the unpacked swift.org toolchain (the directory holding usr/bin/swift);
#                    default: the one `swift` on PATH comes from
#   ROOTFS           where the root filesystem goes (default /var/tmp/rwk-rootfs; it is
#                    wiped and copied from $ROOTFS-base, made once by debootstrap)
#   SWIFT_PACKAGES   optional: a local mirror of the Swift packages' GitHub repositories;
#                    when set it is bind-mounted and git's url.insteadOf points github.com
#                    at it. That is only for machines without access to github.com; a
#                    normal machine fetches the packages from GitHub.
#   EXTRA_CA_CERTS   optional: a directory of *.crt CA certificates to trust, for a network
#                    whose HTTPS goes through an intercepting proxy (pip and SwiftPM fail
#                    with "self-signed certificate in certificate chain" otherwise). Copied
#                    to the chroot's /usr/local/share/ca-certificates, where Debian's
#                    ca-certificates (installed by install.sh) picks them up. Again a
#                    property of such a machine, not of the project.
#   MIRROR           the Debian mirror (default http://deb.debian.org/debian)
#
# Inside the root filesystem (pivot_root in a private mount namespace), as root: `./install.sh && run-with-keys demo`, then
# `make test`. The log is $ROOTFS.log; the exit code is the first failing step's.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
branch=${1:-$(git -C "$repo" rev-parse --abbrev-ref HEAD)}
ROOTFS=${ROOTFS:-/var/tmp/rwk-rootfs}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SWIFT_TOOLCHAIN=${SWIFT_TOOLCHAIN:-$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")}
SWIFT_PACKAGES=${SWIFT_PACKAGES:-}
EXTRA_CA_CERTS=${EXTRA_CA_CERTS:-}
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root (debootstrap, chroot, mounts)" >&2; exit 1; }
[ -x "$SWIFT_TOOLCHAIN/usr/bin/swift" ] || { echo "run.sh: no swift in $SWIFT_TOOLCHAIN/usr/bin" >&2; exit 1; }

# 1. A pristine minimal Debian 12 (debootstrap's minbase: Essential packages and apt), made
#    once; each run starts from a fresh copy of it.
if [ ! -x "$ROOTFS-base/bin/sh" ]; then
    command -v debootstrap >/dev/null || timeout 600 apt-get install -y -q debootstrap
    rm -rf "$ROOTFS-base"
    timeout 1800 debootstrap --variant=minbase bookworm "$ROOTFS-base" "$MIRROR"
fi
rm -rf "$ROOTFS"
cp -a "$ROOTFS-base" "$ROOTFS"
cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"

# 2. The source: a clone of BRANCH, made with the host's git (a fresh machine gets the
#    source as a download or with git; the chroot starts without git, install.sh adds it).
timeout 300 git clone -q --branch "$branch" "file://$repo" "$ROOTFS/root/run-with-keys"

# 3. The toolchain (read-only, at /opt/swift; its usr/bin goes on PATH) and, on an
#    offline machine, the package mirror. All mounts live in a private mount namespace, so
#    they go away with it.
mkdir -p "$ROOTFS/opt/swift"
gitconfig=""
if [ -n "$SWIFT_PACKAGES" ]; then
    mkdir -p "$ROOTFS/opt/swift-packages"
    gitconfig="[url \"/opt/swift-packages/\"]
	insteadOf = https://github.com/
	insteadOf = git@github.com:"
fi
printf '%s\n' "$gitconfig" > "$ROOTFS/root/.gitconfig"
if [ -n "$EXTRA_CA_CERTS" ]; then
    mkdir -p "$ROOTFS/usr/local/share/ca-certificates"
    cp "$EXTRA_CA_CERTS"/*.crt "$ROOTFS/usr/local/share/ca-certificates/"
fi

inner='set -euo pipefail
export HOME=/root LANG=C.UTF-8 TERM=dumb
export PATH=/opt/swift/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
cd /root/run-with-keys
echo "== fresh machine: $(. /etc/os-release; echo "$PRETTY_NAME"), $(dpkg-query -f . -W | wc -c) packages"
echo "== ./install.sh && run-with-keys demo"
time ./install.sh && run-with-keys demo
echo "== make test"
time make test
echo "== make test again (nothing to set up)"
time make test-deps'

log="$ROOTFS.log"
echo "run.sh: rootfs $ROOTFS, branch $branch, log $log"
set +e
# pivot_root, not chroot: in a chroot the kernel refuses unprivileged user namespaces
# (unshare(2): EPERM) and `unshare --mount-proc` can't make "/" private (EINVAL), which
# the tests of an unprivileged supervisor and of PID namespaces need.
timeout 7200 unshare --mount --propagation private -- bash -ec '
    r=$1 toolchain=$2 packages=$3 inner=$4
    mount --bind "$r" "$r"
    mount -t proc proc "$r/proc"
    mount --rbind /sys "$r/sys"
    mount --rbind /dev "$r/dev"
    mount -t tmpfs tmpfs "$r/dev/shm"
    mount --bind -o ro "$toolchain" "$r/opt/swift"
    [ -z "$packages" ] || mount --bind -o ro "$packages" "$r/opt/swift-packages"
    cd "$r" && mkdir -p .oldroot && pivot_root . .oldroot && umount -l /.oldroot && rmdir /.oldroot
    exec /usr/bin/env -i /bin/bash -c "$inner"
' rootfs "$ROOTFS" "$SWIFT_TOOLCHAIN" "$SWIFT_PACKAGES" "$inner" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
echo "run.sh: exit $status (log: $log)"
exit "$status"
