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
    cfg.IntOpt('resource_settle_seconds', default=0, min=0,
               help='Seconds the tests that move servers wait first, so '
                    'that each compute\'s resource tracker has audited the '
                    'CPUs the previous test freed (one '
                    'update_resources_interval and a second).'),
    cfg.IntOpt('vcpu_thread_timeout', default=60,
               help='Seconds to wait for a real-time vCPU thread to show '
                    'its scheduling class after the server went ACTIVE.'),
]
