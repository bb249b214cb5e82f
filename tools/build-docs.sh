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
# What `tox -e docs,releasenotes,genconfig` runs, without tox, in the
# project venv ($NOVA_RT_VENV or .venv, as tools/run-tests.sh makes it):
# the operator guide and the release notes with Sphinx -W (a warning fails
# the build), and the sample configuration file.
#
#   tools/build-docs.sh            # docs, release notes, sample config
#   tools/build-docs.sh docs       # one of: docs releasenotes genconfig
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
venv=${NOVA_RT_VENV:-$top/.venv}
if [ ! -x "$venv/bin/python" ]; then
    echo "build-docs.sh: no venv at $venv: run tools/run-tests.sh first" >&2
    exit 2
fi
stamp="$venv/.nova-rt-docs-installed"
if [ ! -f "$stamp" ] || [ doc/requirements.txt -nt "$stamp" ]; then
    "$venv/bin/pip" install -q -r doc/requirements.txt
    touch "$stamp"
fi

targets=${*:-docs releasenotes genconfig}
for target in $targets; do
    echo "=== nova-rt $target ==="
    case "$target" in
        docs)
            "$venv/bin/sphinx-build" -W --keep-going -b html \
                -d doc/build/doctrees doc/source doc/build/html ;;
        releasenotes)
            "$venv/bin/reno" lint
            "$venv/bin/sphinx-build" -W --keep-going -b html \
                -d releasenotes/build/doctrees releasenotes/source \
                releasenotes/build/html ;;
        genconfig)
            "$venv/bin/oslo-config-generator" \
                --config-file etc/nova-rt/nova-rt-config-generator.conf ;;
        *)
            echo "build-docs.sh: unknown target '$target'" \
                 "(docs, releasenotes, genconfig)" >&2
            exit 2 ;;
    esac
done
