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
"""The steps of the tier for one scenario, each returning problems.

``Tier`` ties a scenario to the host: it writes every XML it hands libvirt,
every answer and log into the artifacts directory (one folder per
scenario), and turns command failures into problems that quote libvirt's
message. The checks themselves live in ``checks``.
"""

import functools
import json
import os
import shutil
import time
import xml.etree.ElementTree as ET

from tests.real import bootxml
from tests.real import checks
from tests.real import host as host_mod

BOOT_TIMEOUT = int(os.environ.get('NOVA_RT_REAL_BOOT_TIMEOUT', '90'))


def _recorded(step):
    """Write a step's problems beside its artifacts: STEP-problems.txt."""
    def wrap(func):
        @functools.wraps(func)
        def inner(self, scenario, root=None, label=None, **kwargs):
            problems = func(self, scenario, root=root, label=label, **kwargs)
            folder = self.folder(scenario, label or scenario.name)
            self._write(folder, '%s-problems.txt' % step,
                        ''.join('%s\n' % p for p in problems) or 'none\n')
            return problems
        return inner
    return wrap


class Tier:
    def __init__(self, host, artifacts, kernel, initrd, run_dir):
        self.host = host
        self.artifacts = artifacts
        self.kernel = kernel
        self.initrd = initrd
        self.run_dir = run_dir

    def folder(self, scenario, label):
        path = os.path.join(self.artifacts, scenario.origin, label)
        os.makedirs(path, exist_ok=True)
        return path

    def _write(self, folder, name, text):
        path = os.path.join(folder, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    # -- step 1: schema ----------------------------------------------------
    @_recorded('schema')
    def schema(self, scenario, root=None, label=None):
        folder = self.folder(scenario, label or scenario.name)
        text = scenario.xml if root is None else bootxml.to_string(root)
        path = self._write(folder, 'generated.xml', text)
        rc, out, err = host_mod.run(['virt-xml-validate', path, 'domain'],
                                    timeout=60)
        self._write(folder, 'virt-xml-validate.txt', out + err)
        if rc != 0:
            return ['schema: virt-xml-validate rejects the domain XML: %s'
                    % _last_lines(err or out)]
        return []

    # -- step 2: define and read back -----------------------------------------
    @_recorded('define')
    def define(self, scenario, root=None, label=None):
        label = label or scenario.name
        folder = self.folder(scenario, label)
        name = bootxml.domain_name(label)
        src = scenario.root() if root is None else root
        path = self._write(folder, 'define.xml', bootxml.to_string(
            bootxml.for_define(src, name)))
        self.host.remove_domain(name)
        rc, out, err = self.host.virsh('define', path)
        if rc != 0:
            return ['define: virsh define refused the domain: %s'
                    % _last_lines(err)]
        try:
            rc, dumped, err = self.host.virsh('dumpxml', '--inactive', name)
            if rc != 0:
                return ['define: virsh dumpxml failed: %s' % _last_lines(err)]
            self._write(folder, 'dumpxml.xml', dumped)
            return checks.check_roundtrip(ET.fromstring(bootxml.to_string(
                bootxml.for_define(src, name))), ET.fromstring(dumped))
        finally:
            self.host.remove_domain(name)

    # -- step 3: the QEMU command line ----------------------------------------
    @_recorded('argv')
    def argv(self, scenario, root=None, label=None, expect=None):
        label = label or scenario.name
        folder = self.folder(scenario, label)
        src = scenario.root() if root is None else root
        variant, changes = bootxml.for_argv(src, bootxml.domain_name(label))
        path = self._write(folder, 'argv.xml', bootxml.to_string(variant))
        self._write(folder, 'argv-changes.txt', '\n'.join(changes) + '\n')
        rc, out, err = self.host.virsh('domxml-to-native', 'qemu-argv',
                                       '--xml', path)
        if rc != 0:
            return ['argv: virsh domxml-to-native refused the domain: %s'
                    % _last_lines(err)]
        self._write(folder, 'qemu-argv.txt', out)
        return checks.check_qemu_argv(out, expect or scenario.expect)

    # -- step 4: boot and look from outside -----------------------------------
    @_recorded('boot')
    def boot(self, scenario, root=None, label=None, expect=None):
        """Boot the TCG variant, check the guest and QEMU's threads."""
        label = label or scenario.name
        expect = expect or scenario.expect
        folder = self.folder(scenario, label)
        name = bootxml.domain_name(label)
        console_log = os.path.join(self.run_dir, '%s.console.log' % label)
        if os.path.exists(console_log):
            os.unlink(console_log)
        src = scenario.root() if root is None else root
        variant, changes = bootxml.for_boot(src, name, expect, self.kernel,
                                            self.initrd, console_log)
        path = self._write(folder, 'boot.xml', bootxml.to_string(variant))
        self._write(folder, 'boot-changes.txt', '\n'.join(changes) + '\n')
        self.host.remove_domain(name)
        problems = []
        started = time.monotonic()
        try:
            rc, out, err = self.host.virsh('define', path)
            if rc != 0:
                return ['boot: virsh define of the boot variant failed: %s'
                        % _last_lines(err)]
            rc, out, err = self.host.virsh('start', name, timeout=120)
            if rc != 0:
                hint = ''
                if 'Operation not permitted' in err and 'schedul' in err:
                    hint = ('\nhint: the cgroup rt_runtime trap: is '
                            'cgroup_controllers without "cpu" in %s, and '
                            'was libvirtd started after it was set?'
                            % host_mod.QEMU_CONF)
                return ['boot: virsh start failed: %s%s\n%s'
                        % (_last_lines(err), hint,
                           self._qemu_log_tail(name))]
            console = self._wait_ready(console_log, name, started)
            if isinstance(console, str):
                return [console]
            snapshot = self.host.thread_snapshot(name)
            self._write(folder, 'threads.json', json.dumps(
                _jsonable(snapshot), indent=2, sort_keys=True))
            self._write(folder, 'guest.json', json.dumps(
                console, indent=2, sort_keys=True))
            problems.extend(checks.check_guest(console, expect))
            problems.extend(checks.check_threads(snapshot, expect))
            return problems
        except (host_mod.HostError, OSError, ValueError, KeyError) as e:
            return ['boot: inspecting the running guest failed: %s: %s'
                    % (type(e).__name__, e)]
        finally:
            self.host.remove_domain(name)
            if os.path.exists(console_log):
                shutil.copy(console_log, os.path.join(folder, 'console.log'))
            qlog = os.path.join(host_mod.QEMU_LOG_DIR, '%s.log' % name)
            if os.path.exists(qlog):
                shutil.copy(qlog, os.path.join(folder, 'qemu.log'))
            self._write(folder, 'boot-seconds.txt',
                        '%.1f\n' % (time.monotonic() - started))

    def _wait_ready(self, console_log, name, started):
        deadline = started + BOOT_TIMEOUT
        text = ''
        while time.monotonic() < deadline:
            try:
                with open(console_log, errors='replace') as f:
                    text = f.read()
            except OSError:
                text = ''
            console = checks.parse_console(text)
            if console['ready']:
                return console
            rc, out, _ = self.host.virsh('domstate', name, timeout=20)
            if rc == 0 and out.strip() not in ('running', 'paused'):
                return ('boot: the guest stopped (%s) before printing '
                        'NRT-READY; console tail:\n%s\n%s'
                        % (out.strip(), _last_lines(text, 20),
                           self._qemu_log_tail(name)))
            time.sleep(0.5)
        return ('boot: no NRT-READY on the guest console within %d s '
                '(NOVA_RT_REAL_BOOT_TIMEOUT); console tail:\n%s\n%s'
                % (BOOT_TIMEOUT, _last_lines(text, 20),
                   self._qemu_log_tail(name)))

    def _qemu_log_tail(self, name):
        path = os.path.join(host_mod.QEMU_LOG_DIR, '%s.log' % name)
        return '--- tail of %s ---\n%s' % (path, host_mod.tail(path, 15))


def _last_lines(text, n=8):
    lines = [ln for ln in (text or '').strip().splitlines() if ln.strip()]
    return '\n'.join(lines[-n:]) or '(no output)'


def _jsonable(snapshot):
    threads = {}
    for tid, t in snapshot['threads'].items():
        t = dict(t)
        t['affinity'] = checks.fmt(t['affinity'])
        threads[str(tid)] = t
    return {'pid': snapshot['pid'],
            'vcpus': {str(k): v for k, v in snapshot['vcpus'].items()},
            'iothreads': {str(k): v
                          for k, v in snapshot['iothreads'].items()},
            'threads': threads}
