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
"""The guest side of nova-rt, run by ``nova-rt-guest`` inside a real-time
guest with the standard library only (a guest image has no oslo nor Nova):

``oem``
  the SMBIOS type 11 OEM strings the host delivered (``/sys/firmware/dmi``);
``delivery``
  nova-rt's entries among them, each re-validated with the grammar of
  ``nova_rt.core.kernel_args``;
``bootloader``
  the arguments made persistent in the guest's boot loader (grubby,
  /etc/default/grub.d, kernel-install), idempotently.
"""

from nova_rt.core import exception


class GuestError(exception.NovaRTError):
    """Anything that stops nova-rt-guest; exit code 2."""

    msg_fmt = '%(reason)s'
