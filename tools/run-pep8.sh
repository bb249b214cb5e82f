#!/usr/bin/env bash
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
# The style checks of `tox -e pep8`, runnable without tox: flake8 (with
# hacking and the import-order plugin, configured by tox.ini's [flake8]) on
# the Python tree, and shellcheck on every shell script under devstack/,
# tools/ and .ci/. flake8 is taken from the venv this script runs in
# ($NOVA_RT_VENV, .venv, or the PATH); exits non-zero on any finding.
#
#   tools/run-pep8.sh              # everything
#   tools/run-pep8.sh FILE...      # flake8 on these files only
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2

flake8=flake8
for venv in "${NOVA_RT_VENV:-}" "$top/.venv"; do
    if [ -n "$venv" ] && [ -x "$venv/bin/flake8" ]; then
        flake8=$venv/bin/flake8
        break
    fi
done
if ! command -v "$flake8" >/dev/null; then
    echo "run-pep8.sh: flake8 not found: install test-requirements.txt" >&2
    exit 2
fi

status=0
echo "=== flake8 ==="
"$flake8" "$@" || status=1

if [ $# -eq 0 ]; then
    echo "=== shellcheck ==="
    if ! command -v shellcheck >/dev/null; then
        echo "run-pep8.sh: shellcheck not found (apt-get install shellcheck)" >&2
        exit 2
    fi
    # Every shell script under devstack/, tools/ and .ci/, by its name or
    # shebang, and the packaged ones (nova_rt/**/*.sh); devstack's files are
    # sourced by devstack's bash, so they are checked as bash.
    mapfile -t scripts < <(
        { find devstack tools .ci -type f; find nova_rt -name '*.sh'; } \
            2>/dev/null | sort |
        while read -r f; do
            case "$f" in
                devstack/*|*.sh) echo "$f" ;;
                *) head -n 1 "$f" | grep -qE '^#!.*\b(ba)?sh\b' && echo "$f" ;;
            esac
        done)
    # devstack/settings only assigns what plugin.sh (sourced after it by
    # devstack) reads, so "assigned but unused" (SC2034) is expected there.
    for f in "${scripts[@]}"; do
        exclude=()
        [ "$f" = devstack/settings ] && exclude=(--exclude=SC2034)
        shellcheck --shell=bash --external-sources --source-path=SCRIPTDIR \
            "${exclude[@]}" "$f" || status=1
    done
fi
exit $status
