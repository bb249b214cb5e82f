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
"""The small guest the tier boots: a Debian kernel and a busybox initramfs.

The kernel comes from the Debian archive (``apt-get download``, ``dpkg
-x``); the cloud flavour is small and has what the checks need built in
(CONFIG_NO_HZ_FULL, CONFIG_CPU_ISOLATION, CONFIG_RCU_NOCB_CPU,
CONFIG_DMI_SYSFS, the 8250 serial console), and ``build_kernel`` refuses
a kernel without them. The initramfs is one static busybox and an
``/init`` that prints what the checks read as ``NRT-`` marker lines on the
first serial port, then holds the guest up so the host can inspect QEMU's
threads. Both are cached (``NOVA_RT_REAL_CACHE``) so a rerun is fast.
"""

import gzip
import hashlib
import io
import os
import shutil
import struct
import subprocess
import tempfile

KERNEL_META_PACKAGE = 'linux-image-cloud-amd64'
REQUIRED_KERNEL_CONFIG = ('CONFIG_NO_HZ_FULL=y', 'CONFIG_CPU_ISOLATION=y',
                          'CONFIG_RCU_NOCB_CPU=y', 'CONFIG_DMI_SYSFS=y',
                          'CONFIG_SERIAL_8250_CONSOLE=y',
                          'CONFIG_BLK_DEV_INITRD=y', 'CONFIG_RD_GZIP=y',
                          'CONFIG_DEVTMPFS=y')
BUSYBOX = '/bin/busybox'

# The guest's /init. It prints every marker to ttyS0 directly, whatever
# the generated cmdline made /dev/console, then holds the guest up for
# ``nrt_hold`` seconds (an unknown key=value kernel argument becomes an
# environment variable of init) and powers off.
INIT = r'''#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
out=/dev/ttyS0
[ -c $out ] || out=/dev/console
{
echo "NRT-BEGIN:"
echo "NRT-BOOT:$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)"
echo "NRT-CMDLINE:$(cat /proc/cmdline)"
echo "NRT-ISOLATED:$(cat /sys/devices/system/cpu/isolated 2>/dev/null)"
echo "NRT-NOHZFULL:$(cat /sys/devices/system/cpu/nohz_full 2>/dev/null)"
echo "NRT-ONLINE:$(cat /sys/devices/system/cpu/online 2>/dev/null)"
for f in /sys/firmware/dmi/entries/11-*/raw; do
    [ -e "$f" ] || continue
    e=$(basename $(dirname $f))
    od -An -v -tx1 "$f" | while read -r line; do
        echo "NRT-OEMHEX:$e:$line"
    done
done
echo "NRT-READY:"
} > $out 2>&1
sleep ${nrt_hold:-120}
echo "NRT-POWEROFF:" > $out
poweroff -f
'''


class GuestError(Exception):
    """The test guest cannot be built: says why and what to do."""


def _run(argv, cwd=None, timeout=300):
    try:
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True,
                              timeout=timeout)
    except OSError as e:
        raise GuestError('%s: %s' % (argv[0], e))
    except Exception as e:
        if type(e).__name__ != 'TimeoutExpired':   # see host._is_timeout
            raise
        raise GuestError('%s: timed out after %d s' % (' '.join(argv),
                                                       timeout))
    return proc.returncode, proc.stdout, proc.stderr


def resolve_kernel_package():
    """The concrete kernel package the meta package points at.

    ``linux-image-cloud-amd64`` -> e.g. ``linux-image-6.1.0-56-cloud-amd64``;
    runs ``apt-get update`` once when the package lists do not know it.
    """
    for attempt in (1, 2):
        rc, out, err = _run(['apt-cache', 'depends', '--no-recommends',
                             '--no-suggests', KERNEL_META_PACKAGE])
        for line in out.splitlines():
            dep = line.strip()
            if dep.startswith('Depends:'):
                name = dep.split(':', 1)[1].strip()
                if name.startswith('linux-image-'):
                    return name
        if attempt == 1:
            _run(['apt-get', 'update', '-qq'], timeout=180)
    raise GuestError('cannot find the kernel package behind %s with '
                     'apt-cache (%s); set NOVA_RT_REAL_KERNEL to a vmlinuz'
                     % (KERNEL_META_PACKAGE, (err or out).strip()[-300:]))


def build_kernel(cache_dir, log):
    """Path of a cached guest kernel, downloading it on a cache miss.

    ``NOVA_RT_REAL_KERNEL`` names a vmlinuz to use instead (then its config
    is not checked).
    """
    override = os.environ.get('NOVA_RT_REAL_KERNEL')
    if override:
        if not os.path.isfile(override):
            raise GuestError('NOVA_RT_REAL_KERNEL=%s is not a file'
                             % override)
        return override
    kernel = os.path.join(cache_dir, 'vmlinuz')
    if os.path.isfile(kernel):
        return kernel
    package = resolve_kernel_package()
    log('guest: downloading %s (cache miss in %s)' % (package, cache_dir))
    work = tempfile.mkdtemp(prefix='kernel-', dir=cache_dir)
    try:
        # apt's _apt user must be able to write the download directory.
        os.chmod(work, 0o777)
        rc, out, err = _run(['apt-get', 'download', '-q', package], cwd=work)
        if rc != 0:
            _run(['apt-get', 'update', '-qq'], timeout=180)
            rc, out, err = _run(['apt-get', 'download', '-q', package],
                                cwd=work)
        debs = [f for f in os.listdir(work) if f.endswith('.deb')]
        if rc != 0 or not debs:
            raise GuestError('apt-get download %s failed: %s'
                             % (package, (err or out).strip()[-500:]))
        tree = os.path.join(work, 'tree')
        rc, out, err = _run(['dpkg-deb', '-x', os.path.join(work, debs[0]),
                             tree])
        if rc != 0:
            raise GuestError('dpkg-deb -x %s failed: %s' % (debs[0], err))
        boot = os.path.join(tree, 'boot')
        vmlinuz = [f for f in os.listdir(boot) if f.startswith('vmlinuz-')]
        configs = [f for f in os.listdir(boot) if f.startswith('config-')]
        if not vmlinuz or not configs:
            raise GuestError('%s has no /boot/vmlinuz-* and config-*'
                             % debs[0])
        with open(os.path.join(boot, configs[0])) as f:
            config = set(f.read().splitlines())
        lacking = [c for c in REQUIRED_KERNEL_CONFIG if c not in config]
        if lacking:
            raise GuestError('%s lacks %s, which the guest checks need'
                             % (package, ', '.join(lacking)))
        shutil.copy(os.path.join(boot, configs[0]),
                    os.path.join(cache_dir, 'config'))
        with open(os.path.join(cache_dir, 'vmlinuz.source'), 'w') as f:
            f.write('%s\n' % debs[0])
        tmp = kernel + '.tmp'
        shutil.copy(os.path.join(boot, vmlinuz[0]), tmp)
        os.chmod(tmp, 0o644)
        os.rename(tmp, kernel)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return kernel


def is_static_elf(path):
    """True for an ELF binary without a PT_INTERP (dynamic loader) header."""
    with open(path, 'rb') as f:
        head = f.read(64)
        if head[:4] != b'\x7fELF' or head[4] != 2:   # 64-bit only
            return False
        phoff, = struct.unpack_from('<Q', head, 0x20)
        phentsize, phnum = struct.unpack_from('<HH', head, 0x36)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    for i in range(phnum):
        p_type, = struct.unpack_from('<I', table, i * phentsize)
        if p_type == 3:   # PT_INTERP
            return False
    return True


def _write_initrd(path, entries):
    """Write ``entries`` as a gzipped newc cpio at ``path``, atomically."""
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        # mtime 0: the same files give the same bytes, so a cloud brought
        # up again keeps the guest image it has (tools/cloudlib/bootstrap).
        f.write(gzip.compress(_cpio_newc(entries), compresslevel=6,
                              mtime=0))
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)
    return path


def _cpio_newc(entries):
    """A cpio archive (newc, what the kernel unpacks) of ``entries``.

    ``entries``: (name, mode, data, rdev_major, rdev_minor). Written here
    so the archive can hold /dev/console without mknod and the cpio tool.
    """
    out = io.BytesIO()
    ino = 1
    for name, mode, data, major, minor in entries + [
            ('TRAILER!!!', 0, b'', 0, 0)]:
        encoded = name.encode() + b'\0'
        header = '070701' + ''.join('%08X' % v for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, major, minor,
            len(encoded), 0))
        out.write(header.encode() + encoded)
        out.write(b'\0' * (-(110 + len(encoded)) % 4))
        out.write(data)
        out.write(b'\0' * (-len(data) % 4))
        ino += 1
    return out.getvalue()


def build_initrd(cache_dir):
    """Path of the cached initramfs for this /init and busybox."""
    if not os.path.isfile(BUSYBOX) or not is_static_elf(BUSYBOX):
        raise GuestError('%s is missing or not static: install busybox-static'
                         % BUSYBOX)
    with open(BUSYBOX, 'rb') as f:
        busybox = f.read()
    digest = hashlib.sha256(INIT.encode() + busybox).hexdigest()[:16]
    path = os.path.join(cache_dir, 'initrd-%s.img' % digest)
    if os.path.isfile(path):
        return path
    entries = [
        ('bin', 0o040755, b'', 0, 0),
        ('dev', 0o040755, b'', 0, 0),
        ('dev/console', 0o020600, b'', 5, 1),
        ('proc', 0o040755, b'', 0, 0),
        ('sys', 0o040755, b'', 0, 0),
        ('tmp', 0o041777, b'', 0, 0),
        ('bin/busybox', 0o100755, busybox, 0, 0),
        ('init', 0o100755, INIT.encode(), 0, 0),
    ]
    return _write_initrd(path, entries)


def build(cache_dir, log=print):
    """``(kernel, initrd)`` paths, building what the cache lacks."""
    os.makedirs(cache_dir, exist_ok=True)
    os.chmod(cache_dir, 0o755)
    return build_kernel(cache_dir, log), build_initrd(cache_dir)


# --- the latency guest: nova-rt-guest latency inside the test guest ---------
#
# The busybox guest has no Python, so the initramfs carries one: this
# interpreter and its shared libraries, the standard-library modules
# nova-rt-guest loads (found by running it on the host, not guessed), the
# nova_rt package, and cyclictest with its libraries, each at the path it
# has on the host (so the interpreter finds its prefix). /init runs
# ``nova-rt-guest latency run`` before NRT-READY and prints the result
# file as NRT-LATENCY-JSON lines for the host to reassemble.

LATENCY_STEP = r'''export PATH=/usr/sbin:/usr/bin:/sbin:/bin
lat=/tmp/latency
# The guest's clock (whole seconds: busybox has no %N) as the run begins:
# the host maps the result's times onto its own clock with it.
echo "NRT-LATENCY-BEGIN:$(date +%s)"
nova-rt-guest latency run --duration ${nrt_latency_s:-5}s --slice 1 \
    --output $lat.json --format json >$lat.out 2>$lat.err
echo "NRT-LATENCY-RC:$?"
if [ -f $lat.json ]; then
    while IFS= read -r l; do echo "NRT-LATENCY-JSON:$l"; done < $lat.json
fi
while IFS= read -r l; do echo "NRT-LATENCY-ERR:$l"; done < $lat.err
echo "NRT-LATENCY-END:"
'''
INIT_LATENCY = INIT.replace('echo "NRT-READY:"',
                            LATENCY_STEP + 'echo "NRT-READY:"')
GUEST_PACKAGE_DIR = '/opt/nova-rt'
CYCLICTEST = '/usr/bin/cyclictest'

# Run on the host by the interpreter the guest gets: import and exercise
# nova-rt-guest latency, then list every module file it loaded.
_COLLECT = r'''
import contextlib, io, sys
sys.path.insert(0, %(repo)r)
from nova_rt.cmd import guest
with contextlib.redirect_stdout(io.StringIO()):
    guest.main(['latency', 'report', '--format', 'json',
                '--input', %(sample)r])
    guest.main(['latency', 'report', '--input', %(sample)r])
guest.build_parser().parse_args(['latency', 'run', '--duration', '5s'])
import nova_rt.latency.runner
for m in list(sys.modules.values()):
    f = getattr(m, '__file__', None)
    if f and not f.startswith(%(repo)r):
        print(f)
'''


def _ldd(path):
    """The shared libraries ``path`` loads (absolute paths)."""
    rc, out, err = _run(['ldd', path])
    if rc != 0:
        if 'not a dynamic executable' in (out + err):
            return []
        raise GuestError('ldd %s failed: %s' % (path, err.strip()))
    libs = []
    for line in out.splitlines():
        parts = line.split()
        for word in parts:
            if word.startswith('/'):
                libs.append(word)
                break
    return libs


def latency_files(repo, sample):
    """{path in the guest: host file} for the latency guest's payload.

    :param repo: the source tree holding nova_rt
    :param sample: a cyclictest JSON file used to exercise report
    """
    import sys
    exe = os.path.realpath(sys.executable)
    rc, out, err = _run([exe, '-I', '-S', '-c', _COLLECT % {
        'repo': repo, 'sample': sample}])
    if rc != 0:
        raise GuestError('collecting the modules nova-rt-guest loads '
                         'failed: %s' % err.strip()[-500:])
    files = {}
    binaries = [exe, CYCLICTEST]
    for path in out.split():
        files[path] = path
        if path.endswith('.so'):
            binaries.append(path)
    stdlib = os.path.dirname(os.__file__)
    encodings = os.path.join(stdlib, 'encodings')
    for name in os.listdir(encodings):
        if name.endswith('.py'):
            files[os.path.join(encodings, name)] = os.path.join(encodings,
                                                                name)
    # the landmark the interpreter looks for to find its prefix
    files[os.path.join(stdlib, 'os.py')] = os.path.join(stdlib, 'os.py')
    if not os.path.isfile(CYCLICTEST):
        raise GuestError('%s is missing: install rt-tests' % CYCLICTEST)
    for binary in binaries:
        files[binary] = binary
        for lib in _ldd(binary):
            files[lib] = os.path.realpath(lib)
    package = os.path.join(repo, 'nova_rt')
    for top, dirs, names in os.walk(package):
        dirs[:] = [d for d in dirs if d != '__pycache__']
        for name in names:
            if name.endswith('.py'):
                host = os.path.join(top, name)
                rel = os.path.relpath(host, repo)
                files[os.path.join(GUEST_PACKAGE_DIR, rel)] = host
    return files, exe


def _wrapper(exe):
    return ('#!/bin/sh\n'
            '# nova-rt-guest as a console script would run it\n'
            'exec %s -I -S -c "import sys; sys.path.insert(0, \'%s\'); '
            'from nova_rt.cmd.guest import main; sys.exit(main(sys.argv[1:]))"'
            ' "$@"\n' % (exe, GUEST_PACKAGE_DIR)).encode()


def build_latency_initrd(cache_dir, repo, sample):
    """Path of the initramfs of the latency guest (rebuilt each run: it
    carries the nova_rt under test).
    """
    if not os.path.isfile(BUSYBOX) or not is_static_elf(BUSYBOX):
        raise GuestError('%s is missing or not static: install busybox-static'
                         % BUSYBOX)
    files, exe = latency_files(repo, sample)
    with open(BUSYBOX, 'rb') as f:
        busybox = f.read()
    entries = {
        'bin': (0o040755, b''), 'dev': (0o040755, b''),
        'proc': (0o040755, b''), 'sys': (0o040755, b''),
        'tmp': (0o041777, b''), 'usr': (0o040755, b''),
        'usr/bin': (0o040755, b''),
        'bin/busybox': (0o100755, busybox),
        'init': (0o100755, INIT_LATENCY.encode()),
        'usr/bin/nova-rt-guest': (0o100755, _wrapper(exe)),
    }
    for guest_path, host_path in sorted(files.items()):
        rel = guest_path.lstrip('/')
        parent = os.path.dirname(rel)
        while parent and parent not in entries:
            entries[parent] = (0o040755, b'')
            parent = os.path.dirname(parent)
        with open(host_path, 'rb') as f:
            entries[rel] = (os.stat(host_path).st_mode & 0o777 | 0o100000,
                            f.read())
    # parents before children: the kernel does not create directories
    ordered = [('dev/console', 0o020600, b'', 5, 1)]
    for name in sorted(entries, key=lambda n: (n.count('/'), n)):
        mode, data = entries[name]
        ordered.append((name, mode, data, 0, 0))
    return _write_initrd(os.path.join(cache_dir, 'initrd-latency.img'),
                         ordered)
