#!/bin/bash
# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
#
# Install what the real tier (tests/real: libvirt/QEMU, cyclictest, promtool
# and node_exporter, cloud-init's schema check) needs on a Debian 12
# machine. Idempotent: when every package is already installed it does
# nothing and touches no network. Needs root (apt-get).
#
# The guest kernel is not installed here: the tier downloads it with
# `apt-get download` at test time and caches the built guest (see
# doc/source/real-tier.rst).
set -euo pipefail

PACKAGES=(
    libvirt-daemon-system      # libvirtd + the libvirt-qemu user it needs
    libvirt-daemon-system-sysv # init scripts instead of systemd units
    libvirt-clients            # virsh, virt-xml-validate
    qemu-system-x86            # qemu-system-x86_64 (TCG is enough)
    busybox-static             # the guest's /init and userland
    libxml2-utils              # xmllint, needed by virt-xml-validate
    rt-tests                   # cyclictest: nova-rt latency, host and guest
    stress-ng                  # nova-rt latency run --load stress-ng
    prometheus                 # promtool: the metrics and alert rules
    prometheus-node-exporter   # scrapes the metrics file (textfile collector)
    cloud-init                 # cloud-init schema: the guest snippet
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "installed" ]; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "ci-real-deps: all packages present"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "ci-real-deps: need root to install: ${missing[*]}" >&2
    exit 1
fi

echo "ci-real-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Do not let package scripts start daemons: the tier starts its own by PID.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    created_policy=1
fi
cleanup() {
    if [ "$created_policy" = 1 ]; then
        rm -f "$policy"
    fi
}
trap cleanup EXIT

apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "ci-real-deps: done"
