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
"""nova-rt-guest for stock cloud images: the standard-library zipapp, and
the cloud-init configuration that installs and runs it on first boot.

``build_zipapp`` packs the modules ``nova_rt.cmd.guest`` imports (found by
importing it with ``python -I -S``, so the set is exactly what the command
loads, and refusing anything outside the standard library) into one
archive in ``python3 -m zipapp``'s format. ``user_data`` and
``vendor_data`` render the cloud-config: the first-boot script
(``firstboot.sh``) run by ``runcmd``, and ``power_state`` rebooting once
when it left its marker.

Standard library only; never packed into the zipapp itself.
"""

import base64
import hashlib
import io
import json
import os
import shlex
import subprocess
import sys
import tempfile
import zipfile

from nova_rt.core import exception

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_PARENT = os.path.dirname(os.path.dirname(HERE))
ENTRY_POINT = 'nova_rt.cmd.guest:main'
INTERPRETER = '/usr/bin/env python3'
ZIPAPP_NAME = 'nova-rt-guest.pyz'
FIRSTBOOT = '/usr/local/sbin/nova-rt-guest-firstboot'
APP = '/usr/local/bin/nova-rt-guest'
MARKER = '/run/nova-rt-guest/reboot'
# The earliest date a zip entry can hold: reproducible archives.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
MAIN = """# nova-rt-guest zipapp (nova-rt guest bundle)
import sys

from nova_rt.cmd import guest

sys.exit(guest.main())
"""
# nova-api refuses user_data whose base64 form is longer than this.
USER_DATA_LIMIT = 65535

_LIST_MODULES = '''
import sys
sys.path.insert(0, sys.argv[1])
before = set(sys.modules)
import nova_rt.cmd.guest
for name in sorted(set(sys.modules) - before):
    top = name.split('.')[0]
    if top == 'nova_rt':
        print('M ' + sys.modules[name].__file__)
    elif top not in sys.stdlib_module_names:
        print('X ' + name)
'''


class BundleError(exception.NovaRTError):
    msg_fmt = '%(reason)s'


def guest_modules(top=PACKAGE_PARENT):
    """The source files of every nova_rt module ``nova-rt-guest`` imports,
    relative to ``top``.

    :raises: BundleError when it imports anything outside the standard
        library, or cannot be imported
    """
    proc = subprocess.run(
        [sys.executable, '-I', '-S', '-c', _LIST_MODULES, top],
        capture_output=True, text=True, check=False, timeout=120)
    if proc.returncode != 0:
        raise BundleError(reason='importing nova_rt.cmd.guest failed: %s'
                          % (proc.stderr.strip().splitlines() or ['?'])[-1])
    files, foreign = [], []
    for line in proc.stdout.splitlines():
        kind, _, value = line.partition(' ')
        if kind == 'M':
            files.append(os.path.relpath(value, top))
        else:
            foreign.append(value)
    if foreign:
        raise BundleError(reason='nova-rt-guest imports more than the '
                          'standard library: %s' % ', '.join(foreign))
    return sorted(files)


def build_zipapp(target, top=PACKAGE_PARENT):
    """Write the nova-rt-guest zipapp to ``target``; its bytes.

    The format of ``python3 -m zipapp``: a shebang line, then a zip
    archive with ``__main__.py`` at its top. Written here rather than by
    ``zipapp.create_archive``, whose generated ``__main__.py`` drops the
    exit code ``main()`` returns, and whose entries follow the file system's
    order and times: sorted entries with a fixed date make the same sources
    give the same archive. Replaced atomically: a failed build leaves no
    partial archive.
    """
    buf = io.BytesIO()
    buf.write(b'#!%s\n' % INTERPRETER.encode())
    with zipfile.ZipFile(buf, 'w') as archive:
        for rel in guest_modules(top) + ['__main__.py']:
            if rel == '__main__.py':
                content = MAIN.encode()
            else:
                with open(os.path.join(top, rel), 'rb') as f:
                    content = f.read()
            info = zipfile.ZipInfo(rel, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    data = buf.getvalue()
    _write_atomically(target, data, 0o755)
    return data


def _write_atomically(path, data, mode):
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix='.%s.'
                                   % os.path.basename(path))
    except OSError as e:
        raise BundleError(reason='cannot write %s: %s' % (path, e.strerror))
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data if isinstance(data, bytes) else data.encode())
            os.fchmod(f.fileno(), mode)
        os.replace(tmp, path)
    except OSError as e:
        os.unlink(tmp)
        raise BundleError(reason='cannot write %s: %s' % (path, e.strerror))


def firstboot_script(url='', sha256=''):
    """The first-boot script, with where to download nova-rt-guest from
    (empty when the cloud-config embeds it).
    """
    with open(os.path.join(HERE, 'firstboot.sh')) as f:
        text = f.read()
    return (text.replace('@URL@', shlex.quote(url))
            .replace('@SHA256@', shlex.quote(sha256)))


def _block(text, indent):
    pad = ' ' * indent
    return '\n'.join(pad + line if line else '' for line in
                     text.rstrip('\n').split('\n'))


def cloud_config(zipapp_data=None, url=None, apply_args=()):
    """The cloud-config (YAML text): nova-rt-guest embedded
    (``zipapp_data``) or downloaded from ``url`` and checked against the
    sha256 of ``zipapp_data``; ``apply_args`` go to ``nova-rt-guest
    apply``.
    """
    digest = hashlib.sha256(zipapp_data).hexdigest()
    script = firstboot_script(url or '', digest if url else '')
    lines = [
        '#cloud-config',
        '# nova-rt: make the kernel arguments of a real-time guest '
        'persistent',
        '# and reboot once into them (nova-rt guest bundle; see nova-rt\'s',
        '# doc/source/guest-bundle.rst). Harmless on other guests.',
        'write_files:',
        '  - path: %s' % FIRSTBOOT,
        "    permissions: '0755'",
        '    owner: root:root',
        '    content: |',
        _block(script, 6),
    ]
    if not url:
        lines += [
            '  - path: %s' % APP,
            "    permissions: '0755'",
            '    owner: root:root',
            '    encoding: b64',
            '    # nova-rt-guest.pyz, sha256 %s' % digest,
            '    content: %s' % base64.b64encode(zipapp_data).decode(),
        ]
    command = [FIRSTBOOT] + list(apply_args)
    lines += [
        'runcmd:',
        '  - %s' % json.dumps(command),
        'power_state:',
        '  mode: reboot',
        '  message: nova-rt-guest rebooting once into the real-time kernel '
        'arguments',
        '  timeout: 30',
        '  condition: %s' % json.dumps(['test', '-e', MARKER]),
    ]
    return '\n'.join(lines) + '\n'


def user_data(zipapp_data, url=None):
    """The user-data for one server: embedded when it fits nova's limit,
    else downloaded from ``url``.

    :raises: BundleError when it does not fit and there is no URL
    """
    if url:
        return cloud_config(zipapp_data, url=url)
    text = cloud_config(zipapp_data)
    size = len(base64.b64encode(text.encode()))
    if size > USER_DATA_LIMIT:
        raise BundleError(
            reason='the user-data with nova-rt-guest embedded is %d bytes '
                   'in base64, above nova\'s user_data limit of %d: give '
                   '--url where guests can download %s'
                   % (size, USER_DATA_LIMIT, ZIPAPP_NAME))
    return text


def vendor_data(zipapp_data):
    """nova's StaticJSON vendordata (``[api] vendordata_jsonfile_path``):
    cloud-init takes the ``cloud-init`` key of vendor_data.json as
    vendor-data, for every server of the cloud.
    """
    return json.dumps({'cloud-init': cloud_config(zipapp_data)},
                      indent=2) + '\n'


def write_bundle(directory, url=None):
    """Write the zipapp, the vendordata and (with ``url``, or when it
    fits) the user-data into ``directory``; ``{kind: (path, bytes)}`` and
    the reason when no user-data was written.
    """
    written = {}
    data = build_zipapp(os.path.join(directory, ZIPAPP_NAME))
    written['zipapp'] = os.path.join(directory, ZIPAPP_NAME)
    path = os.path.join(directory, 'nova-rt-guest-vendor_data.json')
    _write_atomically(path, vendor_data(data), 0o644)
    written['vendor_data'] = path
    skipped = None
    try:
        text = user_data(data, url)
    except BundleError as e:
        skipped = str(e)
    else:
        path = os.path.join(directory, 'nova-rt-guest-user-data.yaml')
        _write_atomically(path, text, 0o644)
        written['user_data'] = path
    return data, written, skipped
