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
"""Guest kernel arguments: what a real-time guest's kernel needs, and how
it reaches the guest.

The guest must be partitioned like the host: its real-time vCPUs isolated
from the scheduler's load balancing, the tick, RCU callbacks and device
interrupts, which all go to the housekeeping vCPUs. The arguments travel as
SMBIOS type 11 OEM strings on every real-time guest and, for direct-kernel-
boot images, on the kernel command line itself.
"""

import functools

from nova_rt.core import cpuset
from nova_rt.core import exception
from nova_rt.core import kernel_args

# systemd-stub appends this OEM string to the command line of a unified
# kernel image; ``nova-rt-guest apply`` reads it on any other guest.
SYSTEMD_CMDLINE_EXTRA = 'io.systemd.stub.kernel-cmdline-extra'
OEM_PREFIX = 'org.openstack.nova-rt.'
OEM_VERSION = '1'

# x86's COMMAND_LINE_SIZE is 2048 bytes, and the image's own arguments need
# room too.
MAX_EXTRA_LENGTH = 512
MAX_TOTAL_LENGTH = 1536


def parse_extra(value):
    """Parse ``rt:guest_kernel_args`` with its strict grammar.

    :returns: a tuple of tokens
    :raises: InvalidGuestKernelArgs naming what was wrong
    """
    try:
        tokens = kernel_args.split_tokens(value, MAX_EXTRA_LENGTH)
    except ValueError as e:
        raise exception.InvalidGuestKernelArgs(str(e))
    for token in tokens:
        if kernel_args.is_derived(token):
            key = token.split('=', 1)[0]
            name = kernel_args.key_of(token)
            spelling = '' if key == name else (
                ' (the kernel reads %r as %r)' % (key, name))
            raise exception.InvalidGuestKernelArgs(
                '%r is derived by nova-rt from the real-time vCPUs and '
                'cannot be overridden%s' % (key, spelling))
    return tokens


# The arguments are a pure function of an immutable RealtimeRequest, built
# again for every guest config of the same few flavors.
@functools.lru_cache(maxsize=256)
def derive(request):
    """The guest kernel arguments of a RealtimeRequest, in order.

    Empty with ``rt:guest_tuning=none``.
    """
    if request.guest_tuning == 'none':
        return ()
    args = [kernel_args.render(name, value)
            for name, value in kernel_args.partitioning_args(
                cpuset.format(request.realtime_vcpus),
                cpuset.format(request.housekeeping_vcpus))]
    if request.guest_idle_poll:
        args.append('idle=poll')
    args.extend(request.guest_extra_args)
    return tuple(args)


def check_length(request):
    """Refuse a request whose arguments cannot fit a kernel command line."""
    length = len(' '.join(derive(request)))
    if length > MAX_TOTAL_LENGTH:
        raise exception.InvalidRealtimeRequest(
            ('hw:cpu_realtime_mask', 'rt:guest_kernel_args'),
            'the guest kernel arguments take %d characters; at most %d fit '
            'beside the image\'s own' % (length, MAX_TOTAL_LENGTH))


def cmdline(request):
    """The arguments as one command-line string ('' when none)."""
    return ' '.join(derive(request))


@functools.lru_cache(maxsize=256)
def oem_strings(request):
    """SMBIOS type 11 entries for the guest ('' entries are never made).

    The systemd entry lets a unified kernel image pick the arguments up at
    boot; the ``org.openstack.nova-rt.*`` entries tell ``nova-rt-guest``
    (and the guest's own tools) what the host did.
    """
    args = cmdline(request)
    if not args:
        return ()
    return (
        '%s=%s' % (SYSTEMD_CMDLINE_EXTRA, args),
        '%sversion=%s' % (OEM_PREFIX, OEM_VERSION),
        '%skernel-args=%s' % (OEM_PREFIX, args),
        '%srealtime-vcpus=%s' % (
            OEM_PREFIX, cpuset.format(request.realtime_vcpus)),
        '%shousekeeping-vcpus=%s' % (
            OEM_PREFIX, cpuset.format(request.housekeeping_vcpus)),
        '%svcpu-scheduler=%s' % (OEM_PREFIX, request.vcpu_thread),
    )
