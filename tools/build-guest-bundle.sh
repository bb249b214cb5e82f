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
# The release artifacts of the guest side: dist/nova-rt-guest.pyz (the
# standard-library zipapp), its cloud-init vendordata and, with a URL, its
# user-data (doc/source/guest-bundle.rst). Runs `nova-rt guest bundle` of
# the venv tools/run-tests.sh made:
#
#   tools/build-guest-bundle.sh [URL]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
venv=${NOVA_RT_VENV:-$top/.venv}
if [ ! -x "$venv/bin/nova-rt" ]; then
    echo "build-guest-bundle.sh: no nova-rt in $venv: run tools/run-tests.sh unit first" >&2
    exit 2
fi
mkdir -p "$top/dist"
args=(guest bundle --output-dir "$top/dist")
if [ $# -gt 0 ]; then
    args+=(--url "$1")
fi
exec "$venv/bin/nova-rt" "${args[@]}"
