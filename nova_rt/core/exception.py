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
"""The errors nova-rt's core raises.

The core raises these; only the adapters turn them into something else: the
CLI into exit codes, the API validators into 400s, the driver into instance
faults. Each carries a message format filled at construction, so a message
is never left unformatted.
"""


def shortened(value, keep=40):
    """A value fit for a message: a bad input may be huge, and an error
    message must stay one readable line.
    """
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= keep:
        return value
    return '%s...(%d characters)' % (text[:keep], len(text))


class NovaRTError(Exception):
    """Base of every nova-rt error."""

    msg_fmt = 'An unknown nova-rt error occurred.'

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            message = self.msg_fmt % kwargs
        self.message = message
        super().__init__(message)

    def __str__(self):
        return self.message


class InvalidCPUSet(NovaRTError):
    msg_fmt = '%(what)s: %(spec)r is not a valid CPU set: %(reason)s'


class InvalidRealtimeRequest(NovaRTError):
    """A flavor (with its image) that nova-rt cannot honour.

    ``keys`` names the extra specs or image properties at fault, so the
    message can be traced back to what the operator or tenant set.
    """

    msg_fmt = '%(keys)s: %(reason)s'

    def __init__(self, keys, reason):
        if isinstance(keys, str):
            keys = (keys,)
        self.keys = tuple(keys)
        self.reason = reason
        super().__init__(keys=', '.join(self.keys), reason=reason)


class InvalidGuestKernelArgs(InvalidRealtimeRequest):
    """``rt:guest_kernel_args`` outside its grammar."""

    def __init__(self, reason):
        super().__init__('rt:guest_kernel_args', reason)


class HostNotReady(NovaRTError):
    """The host cannot run real-time guests; ``reasons`` says why."""

    msg_fmt = 'host is not ready for real-time guests: %(reasons)s'

    def __init__(self, reasons):
        self.reasons = tuple(reasons)
        super().__init__(reasons='; '.join(self.reasons))


class RequestNotHonourable(NovaRTError):
    """The host is ready but cannot give this instance what it asks."""

    msg_fmt = 'cannot honour the real-time request: %(reason)s'
