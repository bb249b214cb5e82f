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
"""The one reader of the host's /sys, /proc, /dev and /etc.

Every path nova-rt reads on a host goes through ``HostReader``, relative to
an injectable root (``[nova_rt] host_root``, ``--root``, a recorded tree in
the tests), in the manner of psutil's ``get_procfs_path``: no module of
nova-rt spells an absolute /sys path.

A file that cannot be read raises a typed error carrying the path and the
reason, ``HostFileMissing`` (ENOENT, ENOTDIR) apart from ``HostFileDenied``
(EACCES, EPERM): callers turn them into "unknown, because ..." and never
into an empty string.
"""

import errno
import os
import re
import types

from nova_rt.core import cpuset
from nova_rt.core import exception

CPU_DIR = 'sys/devices/system/cpu'
NODE_DIR = 'sys/devices/system/node'


class HostFileError(exception.NovaRTError):
    """A host file could not be read; ``reason`` says why."""

    msg_fmt = '%(path)s: %(reason)s'

    def __init__(self, path, reason, errno_=None):
        # Shown as the host path ("/sys/..."), whatever the root.
        path = '/' + path.lstrip('/')
        self.path = path
        self.reason = reason
        self.errno = errno_
        super().__init__(path=path, reason=reason)


class HostFileMissing(HostFileError):
    """ENOENT or ENOTDIR: the kernel, a module or a driver does not provide
    the file (or the tree being read does not record it).
    """


class HostFileDenied(HostFileError):
    """EACCES or EPERM: the file exists but this process may not read it
    (most of /dev/cpu/*/msr and /sys/kernel/debug need root).
    """


class HostFileInvalid(HostFileError):
    """The file was read but its content is not what the kernel writes."""


# The largest file read whole. Every file nova-rt reads whole is a few KiB
# at most (/proc/<pid>/stat, sysfs values, /proc/cmdline, qemu.conf);
# a bigger one is not what the kernel writes, and reading it could stall
# the compute service.
MAX_FILE_BYTES = 1 << 20
# Below glibc's mmap threshold (128 KiB): a chunk comes from the heap.
_CHUNK_BYTES = 64 << 10
# find_line streams (/proc/cpuinfo is ~1.5 KiB a CPU): at most this much a
# line and this much in all.
MAX_LINE_BYTES = 64 << 10
MAX_STREAM_BYTES = 16 << 20
# A hex CPU bitmap of the kernel's NR_CPUS limit (8192 CPUs).
MAX_MASK_DIGITS = 8192 // 4


def _error(path, exc):
    if isinstance(exc, ValueError):
        # open() refuses a path with a NUL byte (from a damaged file
        # whose content became part of a path, e.g. osrelease).
        return HostFileInvalid(path, 'not a valid path (%s)' % exc)
    code = getattr(exc, 'errno', None)
    reason = '%s' % (exc.strerror or exc) if isinstance(exc, OSError) \
        else '%s' % exc
    if code in (errno.ENOENT, errno.ENOTDIR):
        return HostFileMissing(path, 'missing (%s)' % reason, code)
    if code in (errno.EACCES, errno.EPERM):
        return HostFileDenied(path, 'not readable (%s)' % reason, code)
    return HostFileError(path, 'cannot read (%s)' % reason, code)


# A decimal number as the kernel writes one: ASCII digits only (str.isdigit
# also takes '²' and other digits int() refuses), short enough to convert
# in constant time.
_NUMBER = re.compile(r'[0-9]{1,18}')
_INTEGER = re.compile(r'-?[0-9]{1,18}')


def is_number(text):
    """Is ``text`` a non-negative decimal the kernel could have written
    (a pid, an IRQ, a CPU or node number)?
    """
    return _NUMBER.fullmatch(text) is not None


def freeze(mapping):
    """A read-only copy of ``mapping``, for the frozen profile."""
    return types.MappingProxyType(dict(mapping))


def read_cpulist(r, rel):
    """The CPUs of a list-format file (``"0-3,8"``) read with ``r``.

    :raises: HostFileError; HostFileInvalid when the content is not a list
    """
    text = r.read_line(rel)
    # sysfs prints "(null)" for a cpumask that was never allocated, e.g.
    # nohz_full on kernels booted without nohz_full= before 5.x.
    if text == '(null)':
        return frozenset()
    try:
        return cpuset.parse(text, '/' + rel)
    except exception.InvalidCPUSet as e:
        raise HostFileInvalid(rel, e.kwargs.get('reason', e))


def parse_mask(text, path='mask'):
    """CPUs of a kernel hex bitmap ("ff,ffffffff"): 32-bit words, most
    significant first, as in /proc/irq/default_smp_affinity and
    /sys/devices/virtual/workqueue/cpumask. The list form ("0-3") goes to
    ``nova_rt.core.cpuset.parse``; this is the other format the kernel prints.
    """
    digits = text.strip().replace(',', '')
    if not _HEX.fullmatch(digits):
        raise HostFileInvalid(path, '%r is not a hex CPU mask'
                              % _shortened(text))
    if len(digits.lstrip('0')) > MAX_MASK_DIGITS:
        raise HostFileInvalid(path, 'a CPU mask of %d hex digits; at most '
                              '%d' % (len(digits), MAX_MASK_DIGITS))
    # One hex digit at a time, from the least significant: linear in the
    # length of the mask.
    cpus = set()
    for position, digit in enumerate(reversed(digits)):
        bits = int(digit, 16)
        cpus.update(position * 4 + b for b in range(4) if bits >> b & 1)
    return frozenset(cpus)


_HEX = re.compile(r'[0-9a-fA-F]+')


def _shortened(text, keep=40):
    """``text`` cut for a message: a damaged file may be huge."""
    if len(text) <= keep:
        return text
    return '%s...(%d characters)' % (text[:keep], len(text))


def format_mask(cpus):
    """The kernel hex bitmap of ``cpus``, the inverse of ``parse_mask``."""
    value = 0
    for cpu in cpus:
        value |= 1 << cpu
    digits = '%x' % value
    # Group into 32-bit words, most significant first, like the kernel.
    width = -(-len(digits) // 8) * 8
    digits = digits.rjust(width, '0')
    words = [digits[i:i + 8] for i in range(0, width, 8)]
    words[0] = words[0].lstrip('0') or '0'
    return ','.join(words)


def _find_line(f, wanted, rel):
    """The first line of ``f`` starting with ``wanted``, or None; bounded
    by MAX_LINE_BYTES a line and MAX_STREAM_BYTES in all.
    """
    total = 0
    while total <= MAX_STREAM_BYTES:
        raw = f.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return None
        total += len(raw)
        if len(raw) > MAX_LINE_BYTES:
            raise HostFileInvalid(rel, 'a line longer than %d bytes'
                                  % MAX_LINE_BYTES)
        if raw.startswith(wanted):
            return raw.decode('utf-8', 'replace').rstrip('\n')
    raise HostFileInvalid(rel, 'larger than %d bytes' % MAX_STREAM_BYTES)


class HostReader(object):
    """Reads files under ``root`` as if it were ``/``.

    :param root: the directory standing for ``/``
    :param trace: an optional set; every relative path successfully opened
        or listed is added to it (the tests use it to record which files a
        tree must hold)
    """

    def __init__(self, root='/', trace=None):
        self.root = os.path.abspath(root)
        self.trace = trace

    def path(self, rel):
        """The real path of ``rel`` (``"sys/kernel/realtime"``)."""
        # os.path.join(root, rel) without its cost: an audit builds
        # thousands of paths.
        root = self.root
        return (root if root.endswith('/') else root + '/') + rel.lstrip('/')

    def _note(self, rel):
        if self.trace is not None:
            self.trace.add(rel.lstrip('/'))

    def read_bytes(self, rel):
        """The whole content of a file, as bytes.

        Read in chunks until end of file (or past the size limit), never
        with one buffer of the limit's size: a 1 MiB buffer is a fresh
        mapping for every one of the thousands of small files an audit
        reads. /proc's seq_files may answer a read short of end of file.
        """
        try:
            with open(self.path(rel), 'rb', buffering=0) as f:
                chunks, size = [], 0
                while size <= MAX_FILE_BYTES:
                    chunk = f.read(min(_CHUNK_BYTES,
                                       MAX_FILE_BYTES + 1 - size))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
        except (OSError, ValueError) as e:
            raise _error(rel, e)
        data = chunks[0] if len(chunks) == 1 else b''.join(chunks)
        self._note(rel)
        if len(data) > MAX_FILE_BYTES:
            raise HostFileInvalid(rel, 'larger than %d bytes'
                                  % MAX_FILE_BYTES)
        return data

    def read(self, rel):
        """The whole text of a file.

        Decoding errors are replaced rather than raised: /proc/<pid>/stat
        carries a thread's comm byte for byte, which need not be UTF-8.
        """
        return self.read_bytes(rel).decode('utf-8', 'replace')

    def read_line(self, rel):
        """The first line of a file, stripped (the sysfs "one value" form)."""
        text = self.read(rel)
        return text.split('\n', 1)[0].strip()

    def read_int(self, rel):
        line = self.read_line(rel)
        if not _INTEGER.fullmatch(line):
            raise HostFileInvalid(rel, '%r is not an integer'
                                  % _shortened(line))
        return int(line, 10)

    def find_line(self, rel, prefix):
        """The first line starting with ``prefix``, or None.

        Reads only as far as needed: /proc/cpuinfo is ~1.5 KiB per CPU and
        its first block answers every question nova-rt asks of it.
        """
        try:
            with open(self.path(rel), 'rb') as f:
                self._note(rel)
                return _find_line(f, prefix.encode(), rel)
        except (OSError, ValueError) as e:
            raise _error(rel, e)

    def read_at(self, rel, offset, size):
        """``size`` bytes at ``offset`` (the MSR driver's interface: the
        file offset is the register number).
        """
        try:
            fd = os.open(self.path(rel), os.O_RDONLY)
        except (OSError, ValueError) as e:
            raise _error(rel, e)
        try:
            data = os.pread(fd, size, offset)
        except OSError as e:
            # /dev/cpu/N/msr answers EIO for a register the CPU lacks
            # (MSR_SMI_COUNT on AMD).
            raise _error(rel, e)
        finally:
            os.close(fd)
        self._note(rel)
        if len(data) != size:
            raise HostFileInvalid(
                rel, 'short read at offset %#x: %d of %d bytes'
                % (offset, len(data), size))
        return data

    def signature(self, rel):
        """(size, modification time in ns) of a file: whether it changed
        since it was last read.
        """
        try:
            st = os.stat(self.path(rel))
        except (OSError, ValueError) as e:
            raise _error(rel, e)
        return st.st_size, st.st_mtime_ns

    def listdir(self, rel):
        """Names in a directory, sorted."""
        try:
            names = os.listdir(self.path(rel))
        except (OSError, ValueError) as e:
            raise _error(rel, e)
        self._note(rel)
        return sorted(names)

    def is_dir(self, rel):
        found = os.path.isdir(self.path(rel))
        if found:
            self._note(rel)
        return found

    def exists(self, rel):
        found = os.path.lexists(self.path(rel))
        if found:
            self._note(rel)
        return found
