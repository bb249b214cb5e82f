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
"""The host (or guest) state a latency measurement belongs to.

A certificate holds the kernel release, the SHA-256 of the kernel command
line (``/proc/cmdline`` without its final newline) and the isolated CPUs
(``/sys/devices/system/cpu/isolated``, the isolcpus domain set the host
audit reports). The compute compares them with the running host before it
publishes the certified latency: a new kernel, a changed argument or a
changed partition voids the measurement.
"""

import dataclasses
import hashlib
import os
import typing

from nova_rt.core import cpuset
from nova_rt.core import exception

OSRELEASE = 'proc/sys/kernel/osrelease'
KERNEL_VERSION = 'proc/sys/kernel/version'
CMDLINE = 'proc/cmdline'
ISOLATED = 'sys/devices/system/cpu/isolated'
ONLINE = 'sys/devices/system/cpu/online'
REALTIME = 'sys/kernel/realtime'


@dataclasses.dataclass(frozen=True)
class Identity:
    """None in a field: it could not be read (``problems`` says why)."""

    kernel_release: typing.Optional[str]
    kernel_cmdline_sha256: typing.Optional[str]
    isolated_cpus: typing.Optional[typing.FrozenSet[int]]
    preempt_rt: bool
    online_cpus: typing.Optional[typing.FrozenSet[int]]
    problems: typing.Tuple[str, ...] = ()


def _read(root, rel):
    path = os.path.join(root, rel)
    with open(path, 'rb') as f:
        return f.read().decode('utf-8', 'replace')


def cmdline_sha256(text):
    return hashlib.sha256(text.rstrip('\n').encode('utf-8')).hexdigest()


def read(root='/'):
    """The identity of the host whose ``/`` is ``root``."""
    problems = []

    def field(rel, convert):
        try:
            return convert(_read(root, rel))
        except OSError as e:
            problems.append('cannot read /%s: %s' % (rel, e.strerror))
        except exception.InvalidCPUSet as e:
            problems.append(str(e))
        return None

    release = field(OSRELEASE, lambda t: t.strip() or None)
    digest = field(CMDLINE, cmdline_sha256)
    isolated = field(ISOLATED, lambda t: cpuset.parse(t.strip(), '/' +
                                                      ISOLATED))
    online = field(ONLINE, lambda t: cpuset.parse(t.strip(), '/' + ONLINE))
    try:
        preempt_rt = _read(root, REALTIME).strip() == '1'
    except OSError:
        try:
            preempt_rt = 'PREEMPT_RT' in _read(root, KERNEL_VERSION)
        except OSError:
            preempt_rt = False
    return Identity(kernel_release=release, kernel_cmdline_sha256=digest,
                    isolated_cpus=isolated, preempt_rt=preempt_rt,
                    online_cpus=online, problems=tuple(problems))
