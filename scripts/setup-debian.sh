#!/bin/sh
# Installs everything splitckpt needs to build and test on Debian 12 (idempotent; waits for the
# apt lock instead of failing when another apt runs). Run as root.
set -eu
PKGS="build-essential autoconf automake libtool pkg-config
      libmpich-dev mpich libopenmpi-dev openmpi-bin
      libhwloc-dev libunwind-dev libcmocka-dev libzstd-dev libxxhash-dev
      slurm-wlm iproute2 util-linux procps psmisc python3 environment-modules cmake file
      python3-torch python3-numpy libopenblas0-pthread"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "setup: all packages present"
	exit 0
fi
echo "setup: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=900 update -q
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends $missing
