# shellcheck shell=bash
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
# The devstack functions devstack/plugin.sh and devstack/settings use, for
# running the plugin's phases outside devstack (tools/cloud). Sourced, not
# run. The ini functions edit the real files through tools/cloudlib/ini.py;
# tests/unit/test_devstack.py checks them against devstack's semantics.
#
# Needs: NOVA_RT_INI (path of ini.py; defaults to the one beside this file),
# NOVA_RT_PYTHON (the interpreter to run it and pip with), ENABLED_SERVICES
# (comma-separated, as in devstack's local.conf).

NOVA_RT_INI=${NOVA_RT_INI:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/ini.py}
NOVA_RT_PYTHON=${NOVA_RT_PYTHON:-python3}

# iniset [-sudo] FILE SECTION OPTION VALUE: one value, others removed.
function iniset {
    if [[ "$1" == "-sudo" ]]; then
        shift
    fi
    if [[ $# -ne 4 ]]; then
        echo "iniset: FILE SECTION OPTION VALUE, got $#: $*" >&2
        return 2
    fi
    "$NOVA_RT_PYTHON" "$NOVA_RT_INI" set "$1" "$2" "$3" "$4"
}

# iniadd [-sudo] FILE SECTION OPTION VALUE...: add values of a multi-line
# option, keeping those present.
function iniadd {
    if [[ "$1" == "-sudo" ]]; then
        shift
    fi
    if [[ $# -lt 4 ]]; then
        echo "iniadd: FILE SECTION OPTION VALUE..., got $#: $*" >&2
        return 2
    fi
    "$NOVA_RT_PYTHON" "$NOVA_RT_INI" add "$@"
}

# iniget FILE SECTION OPTION: prints the value (empty when unset).
function iniget {
    if [[ $# -ne 3 ]]; then
        echo "iniget: FILE SECTION OPTION, got $#: $*" >&2
        return 2
    fi
    "$NOVA_RT_PYTHON" "$NOVA_RT_INI" get "$1" "$2" "$3" || true
}

# inidelete [-sudo] FILE SECTION OPTION
function inidelete {
    if [[ "$1" == "-sudo" ]]; then
        shift
    fi
    "$NOVA_RT_PYTHON" "$NOVA_RT_INI" del "$1" "$2" "$3"
}

# is_service_enabled SERVICE...: true when any of them is in
# ENABLED_SERVICES.
function is_service_enabled {
    local service
    for service in "$@"; do
        if [[ ",${ENABLED_SERVICES:-}," == *",$service,"* ]]; then
            return 0
        fi
    done
    return 1
}

# trueorfalse DEFAULT VARNAME: "True" or "False" from the variable's value,
# DEFAULT when it is unset, empty or not a boolean word.
function trueorfalse {
    local default=$1
    local value=${!2:-}
    case "$value" in
        1|yes|Yes|YES|true|True|TRUE) echo "True" ;;
        0|no|No|NO|false|False|FALSE) echo "False" ;;
        *) echo "$default" ;;
    esac
}

# define_plugin NAME, plugin_requires NAME OTHER: devstack keeps the
# plugin graph; one plugin here has nothing to order.
function define_plugin {
    NOVA_RT_DEFINED_PLUGINS="${NOVA_RT_DEFINED_PLUGINS:-} $1"
}

function plugin_requires {
    :
}

function echo_summary {
    echo "nova-rt plugin: $*"
}

# setup_develop DIR: the project installed editable into NOVA_RT_PYTHON's
# environment, without touching its dependencies.
function setup_develop {
    "$NOVA_RT_PYTHON" -m pip install -q --no-deps -e "$1"
}

# setup_install DIR: the project installed (not editable).
function setup_install {
    "$NOVA_RT_PYTHON" -m pip install -q --no-deps "$1"
}

function pip_uninstall {
    "$NOVA_RT_PYTHON" -m pip uninstall -q -y "$@"
}
