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
"""The real libvirt and QEMU tier.

The domain XML that nova-rt's driver generates is validated against
libvirt's schema, defined in a real libvirtd, translated to a QEMU command
line and booted under TCG, and then checked from outside: inside the guest
(kernel command line, isolated CPUs, SMBIOS OEM strings) and on the host
(scheduling class, priority and affinity of every QEMU thread).

See doc/source/real-tier.rst.
"""
