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
# What the integration cloud (tools/cloud) needs on a Debian 12 machine, as
# root: Debian's packages, then the services' venv (.venv-cloud) from PyPI
# (--packages: only the packages). --release RELEASE: an older release's
# services instead, into .venv-cloud-RELEASE, with that release's
# upper-constraints and service caps (tools/releases/RELEASE.txt).
# Idempotent: with everything present it touches no network.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
reqs=$top/tools/cloudlib/requirements.txt
# shellcheck source=cloudlib/releases.sh
source "$top/tools/cloudlib/releases.sh"
newest=$NEWEST_RELEASE
release=$newest
only_packages=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --packages) only_packages=1; shift ;;
        --release) release=${2:-}; shift 2 || true ;;
        *) echo "usage: tools/cloud-deps.sh [--packages] [--release RELEASE]" >&2; exit 2 ;;
    esac
done
constraints=$top/tools/releases/$release.txt
if [[ -z $release || ! -f $constraints ]]; then
    echo "cloud-deps: unknown release '$release' (tools/releases/ has: $(release_names | tr '\n' ' '))" >&2
    exit 2
fi
venv=$(cloud_venv "$release")

# libvirt, QEMU and the guest's busybox: the real tier's list.
"$top/tools/ci-real-deps.sh"

PACKAGES=(
    mariadb-server      # the services' databases
    rabbitmq-server     # nova's and neutron's RPC
    memcached           # keystone's cache, keystonemiddleware's tokens
    qemu-utils          # qemu-img for nova-compute's disks
    libvirt-dev         # building libvirt-python
    python3-dev python3-venv gcc libc6-dev pkg-config  # uwsgi, the shim
    openssh-server openssh-client  # the tempest plugin's SSH host access
)
missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == installed ]] || missing+=("$pkg")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    [[ "$(id -u)" == 0 ]] || { echo "cloud-deps: need root for: ${missing[*]}" >&2; exit 1; }
    echo "cloud-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Package scripts must not start daemons: tools/cloud starts its own.
    policy=/usr/sbin/policy-rc.d
    created=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        created=1
    fi
    trap '[[ $created == 1 ]] && rm -f "$policy"' EXIT
    started=$SECONDS
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
    python3 "$top/tools/figures.py" record deps-packages \
        "deps.packages_s=$((SECONDS - started))"
fi

if [[ $only_packages == 1 ]]; then
    echo "cloud-deps: packages present"
    exit 0
fi

# One install at a time: .ci/run installs the services in the background
# while the first tiers run, and the cloud's up waits here for it.
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
stamp=$venv/.nova-rt-cloud-installed
if [[ $release == "$newest" ]]; then
    # The newest: the services' newest from PyPI, by pip (not the release's
    # constraints file, whose changes do not concern this venv).
    if [[ ! -f $stamp || $reqs -nt $stamp ]]; then
        echo "cloud-deps: installing the services into $venv"
        started=$SECONDS
        [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
        "$venv/bin/pip" install -q --upgrade pip
        "$venv/bin/pip" install -q -r "$reqs"
        touch "$stamp"
        python3 "$top/tools/figures.py" record deps-services \
            "deps.services_s=$((SECONDS - started))"
    fi
elif [[ ! -f $stamp || $reqs -nt $stamp || $constraints -nt $stamp ]]; then
    # An older release: the same services by name, each at the version the
    # release's constraints allow (tempest is branchless: its newest that
    # fits them), installed from scratch by uv (seconds, where pip takes
    # minutes: tools/run-tests.sh's venvs).
    echo "cloud-deps: installing the $release services into $venv"
    started=$SECONDS
    tools=$top/.venv-tools
    if [[ ! -x $tools/bin/uv ]]; then
        python3 -m venv "$tools"
        "$tools/bin/pip" install -q 'uv==0.13.9'
    fi
    mapfile -t names < <(sed -e 's/#.*//' -e 's/[<>=!~;[ ].*//' -e '/^$/d' "$reqs")
    rm -rf "$venv"
    "$tools/bin/uv" venv -q --seed -p python3 "$venv"
    "$tools/bin/uv" pip install -q -p "$venv/bin/python" -c "$constraints" "${names[@]}"
    touch "$stamp"
    python3 "$top/tools/figures.py" record "deps-services-$release" \
        "deps.services_${release//./_}_s=$((SECONDS - started))"
fi
echo "cloud-deps: all present"
