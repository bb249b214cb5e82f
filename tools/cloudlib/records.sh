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
# tools/cloud usage and pins: what Nova's database records of a compute
# host and of a server, as JSON, for the tests to wait on and compare with
# what libvirt runs. Sourced, never run.
# shellcheck shell=bash
# Variables are shared between the sourced modules and tools/cloud.
# shellcheck disable=SC2034,SC2154

# What the host's resource tracker last wrote to the database (what
# NUMATopologyFilter, RealtimeFilter and the compute's claim read): its
# NUMA topology and its stats, one JSON document. The tests wait on it,
# not on a sleep, after a delete or a move.
cmd_usage() {
    [[ $# -eq 1 ]] || usage
    [[ -f $RUN/computes ]] || die "no cloud here (tools/cloud up first)"
    host_index "$1" >/dev/null || die "no compute host '$1'"
    local row
    row=$(mysql_q "SELECT numa_topology, stats FROM compute_nodes
                   WHERE host = '$1' AND deleted = 0" \
              --batch --raw --skip-column-names nova_cell1) \
        || die "cannot read compute_nodes of '$1'"
    [[ -n $row ]] || die "no compute node recorded for '$1'"
    "$PY" -c '
import json, sys
numa, stats = sys.argv[2].split("\t")
print(json.dumps({"host": sys.argv[1],
                  "numa_topology": None if numa == "NULL" else json.loads(numa),
                  "stats": {} if stats == "NULL" else json.loads(stats)}))
' "$1" "$row"
}

# The CPUs Nova's database pins a server to (instance_extra's NUMA
# topology, what a move, a rebuild and the resource tracker read), one
# JSON document: the upgrade test compares it with the domain XML.
cmd_pins() {
    [[ $# -eq 1 ]] || usage
    [[ -f $RUN/computes ]] || die "no cloud here (tools/cloud up first)"
    [[ $1 =~ ^[0-9a-f-]{36}$ ]] || die "pins takes a server's UUID, not '$1'"
    local row
    row=$(mysql_q "SELECT numa_topology FROM instance_extra
                   WHERE instance_uuid = '$1' AND deleted = 0" \
              --batch --raw --skip-column-names nova_cell1) \
        || die "cannot read instance_extra of '$1'"
    [[ -n $row ]] || die "no instance '$1' in nova_cell1"
    "$PY" -c '
import json, sys
numa = sys.argv[2]
print(json.dumps({"uuid": sys.argv[1],
                  "numa_topology": None if numa == "NULL" else json.loads(numa)}))
' "$1" "$row"
}
