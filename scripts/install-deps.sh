#!/bin/sh
# Installs every build, test and benchmark dependency from Debian 12 packages.
# Idempotent: safe to run on every CI start. tcpdump reads the --pcap tests'
# captures; python3-yaml and python3-matplotlib are what upstream's stats and
# plot-stats import (tests/integration/test_stats_tools.py runs them when
# VMNET_UPSTREAM_TOOLS names a checkout of upstream).
set -eu
export DEBIAN_FRONTEND=noninteractive
PKGS="build-essential pkg-config libmnl-dev libnftables-dev nftables uuid-dev libseccomp-dev
  python3 python3-pytest python3-scapy iproute2 iputils-ping sudo jq
  busybox-static dhcpcd5 dnsmasq-base cpio gzip qemu-system-x86 qemu-utils
  iperf3 passt slirp4netns clang clang-tidy cppcheck procps psmisc kmod ndisc6 python3-matplotlib linux-perf
  debhelper lintian adduser systemd man-db groff-base strace tcpdump python3-yaml"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing
fi
