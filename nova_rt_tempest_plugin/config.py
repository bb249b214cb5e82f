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
"""Options of nova-rt's tempest plugin (``[nova_rt]`` in tempest.conf)."""

from oslo_config import cfg

service_option = cfg.BoolOpt(
    'nova_rt', default=False,
    help='Whether the cloud runs nova-rt (its driver and scheduler filter).')

GROUP = cfg.OptGroup(name='nova_rt', title="nova-rt's tempest plugin")

OPTS = [
    cfg.StrOpt('host_access', default='local',
               choices=('local', 'ssh', 'command'),
               help='How the host-side checks reach a compute host\'s '
                    'libvirt and /proc: "local" when tempest runs on the '
                    'compute (all-in-one), "ssh" for multi-node jobs, '
                    '"command" to run host_command.'),
    cfg.StrOpt('host_command', default='',
               help='With host_access = command: the command that runs a '
                    'program on a compute host, "{host}" standing for the '
                    'compute\'s service host name, e.g. '
                    '"tools/cloud exec {host} --" (nova-rt\'s test cloud).'),
    cfg.StrOpt('cloud_command', default='',
               help='A command that stops, starts, restarts and kills the '
                    'cloud\'s services by name ("CMD restart '
                    'nova-compute@compute1"), as nova-rt\'s tools/cloud '
                    'does; the tests that restart services skip without '
                    'it.'),
    cfg.StrOpt('ssh_user', default='stack',
               help='SSH user on the compute hosts; needs password-less '
                    'sudo unless it is root.'),
    cfg.StrOpt('ssh_key_file', default='',
               help='Private key for ssh_user; empty: the SSH defaults.'),
    cfg.DictOpt('ssh_hosts', default={},
                help='Compute host name -> address to SSH to; a host not '
                     'listed is reached at its hypervisor host_ip.'),
    cfg.StrOpt('libvirt_uri', default='qemu:///system',
               help='libvirt URI on the compute hosts.'),
    cfg.StrOpt('dedicated_cpus', default='',
               help='The compute\'s [compute] cpu_dedicated_set: the tests '
                    'size their flavors to it and skip, naming the missing '
                    'CPUs, the shapes it cannot hold.'),
    cfg.StrOpt('shared_cpus', default='',
               help='The compute\'s [compute] cpu_shared_set: where '
                    'unpinned vCPUs and housekeeping vCPUs of mixed '
                    'real-time flavors float.'),
    cfg.BoolOpt('lab_mode', default=False,
                help='The cloud runs nova-rt\'s lab mode (not real-time '
                     'hosts): the compute must publish the lab trait and '
                     'never the ready trait.'),
    cfg.StrOpt('metrics_file', default='',
               help='The compute\'s [nova_rt] metrics_file (host_access '
                    'local only): checked with promtool when set.'),
    cfg.IntOpt('usage_settle_timeout', default=60, min=1,
               help='Seconds a test waits, at most, for each compute\'s '
                    'NUMA usage as Nova records it (read through '
                    'cloud_command\'s "usage HOST") to match the CPUs its '
                    'domains hold, after a delete, a revert or a move: '
                    'one update_resources_interval and an audit.'),
    cfg.StrOpt('latency_image_ref', default='',
               help='An image whose guest runs "nova-rt-guest latency run" '
                    'at boot for latency_run_seconds and prints the result '
                    'on its console as NRT-LATENCY-* lines (nova-rt\'s test '
                    'cloud builds one when rt-tests is installed); the '
                    'tests that measure a guest\'s latency skip without '
                    'it.'),
    cfg.IntOpt('latency_run_seconds', default=60, min=10,
               help='How long the latency image\'s run lasts.'),
    cfg.StrOpt('instances_path', default='/opt/stack/data/nova/instances',
               help='[DEFAULT] instances_path of the compute hosts: the '
                    'faults tier checks that no instance directory is '
                    'left there.'),
    cfg.StrOpt('host_nova_rt', default='nova-rt',
               help='The nova-rt command on the compute hosts (for '
                    '"nova-rt latency run" and "certify" there).'),
    cfg.StrOpt('host_nova_conf', default='/etc/nova/nova-cpu.conf',
               help='The compute\'s nova.conf, as the compute host sees '
                    'it, "{host}" standing for the compute\'s service '
                    'host name: nova-rt on the host reads its [nova_rt] '
                    'options (latency_certificate) there.'),
    cfg.StrOpt('compute_log', default='',
               help='The nova-compute log file, as the compute host sees '
                    'it, "{host}" standing for the compute\'s service '
                    'host name; empty (a journal, say): the tests do not '
                    'count its lines.'),
    cfg.IntOpt('load_cycles', default=200, min=2,
               help='Create/delete cycles of the faults tier\'s load test, '
                    'half real-time, half ordinary.'),
    cfg.IntOpt('load_timeout', default=1800, min=1,
               help='Seconds the load test\'s cycles must be done in.'),
    cfg.StrOpt('figures_dir', default='',
               help='Directory the tests write their measured figures to '
                    '(one JSON file a source, tools/figures.py collects '
                    'them for the docs); empty: not written.'),
    cfg.StrOpt('upgrade_to', default='',
               help='The Nova release (2026.1, ...) the upgrade tier takes '
                    'the cloud to, through cloud_command\'s "upgrade --to '
                    'RELEASE", with real-time guests running; empty: the '
                    'upgrade tests skip.'),
    cfg.BoolOpt('upgrade_rolling', default=True,
                help='The upgrade test goes rolling (the controllers and '
                     'all computes but one first, guests moved old to new '
                     'and new to old, then the last compute); false: '
                     'skip-level all at once.'),
    cfg.IntOpt('vcpu_thread_timeout', default=60,
               help='Seconds to wait for a real-time vCPU thread to show '
                    'its scheduling class after the server went ACTIVE.'),
]
