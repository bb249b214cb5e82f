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
# The Nova releases the tree has constraints for (tools/releases/), and
# where each one's cloud services are installed: for tools/cloud,
# tools/cloud-deps.sh and tools/run-tests.sh. Sourced, never run.
# shellcheck shell=bash
# Variables are shared with the scripts that source this.
# shellcheck disable=SC2034,SC2154

top=${top:?}

# release_names: every release, oldest first.
release_names() {
    find "$top/tools/releases" -name '*.txt' -printf '%f\n' |
        sed 's/\.txt$//' | sort -V
}

NEWEST_RELEASE=$(release_names | tail -n 1)

# cloud_venv RELEASE: the venv of RELEASE's cloud services
# (tools/cloud-deps.sh installs it).
cloud_venv() {
    if [[ $1 == "$NEWEST_RELEASE" ]]; then
        echo "${NOVA_RT_CLOUD_VENV:-$top/.venv-cloud}"
    else
        echo "$top/.venv-cloud-$1"
    fi
}
