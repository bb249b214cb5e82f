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
"""System management interrupts, counted by MSR_SMI_COUNT."""

import struct

from nova_rt.host import model
from nova_rt.host import reader as host_reader


# MSR_SMI_COUNT (Intel SDM vol. 4): SMIs since reset, 32 significant bits.
MSR_SMI_COUNT = 0x34


def read_smi(r, online, interval, sleep):
    if interval <= 0:
        return model.Unknown('not sampled (SMI interval 0)')
    if not online:
        return model.Unknown('online CPUs unreadable')
    # SMIs are broadcast: every logical CPU enters SMM, so one counter
    # tells. The msr driver makes the file offset the register number.
    cpu = min(online)
    rel = 'dev/cpu/%d/msr' % cpu

    def count():
        return struct.unpack('<Q', r.read_at(rel, MSR_SMI_COUNT, 8))[0] \
            & 0xffffffff

    try:
        before = count()
        sleep(interval)
        after = count()
    except host_reader.HostFileMissing as e:
        return model.Unknown('%s (load the msr module)' % e)
    except host_reader.HostFileError as e:
        return model.Unknown(
            '%s (MSR_SMI_COUNT needs root and an Intel CPU)' % e)
    return model.SmiSample(cpu=cpu, count=(after - before) & 0xffffffff,
                           interval=interval)
