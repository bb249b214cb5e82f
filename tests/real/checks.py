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
"""What the tier checks, as functions that return lists of problems.

Every check takes plain data (a parsed domain, the text of a QEMU command
line, a guest console log, a snapshot of QEMU's threads) and the scenario's
expectations, and returns problem strings. Each problem names the domain
XML element it is about (``cputune/vcpusched[vcpu=1] priority: ...``), so a
failure points at what the driver generated wrong. Nothing here runs a
command: the self-tests can break one element and call a check directly.
"""

import shlex

from nova_rt.core import cpuset
from nova_rt.core import exception

RT_CLASSES = ('fifo', 'rr')

# sched_setscheduler(2) policy numbers, as /proc/PID/task/TID/stat shows.
POLICY_NAMES = {0: 'other', 1: 'fifo', 2: 'rr', 3: 'batch', 5: 'idle',
                6: 'deadline'}

# libvirt's scaled integer units (docs: formatdomain, "unit" attribute).
_UNITS = {
    'b': 1, 'bytes': 1,
    'k': 1024, 'kib': 1024, 'kb': 1000,
    'm': 1024 ** 2, 'mib': 1024 ** 2, 'mb': 1000 ** 2,
    'g': 1024 ** 3, 'gib': 1024 ** 3, 'gb': 1000 ** 3,
    't': 1024 ** 4, 'tib': 1024 ** 4, 'tb': 1000 ** 4,
}

CMDLINE_EXTRA = 'io.systemd.stub.kernel-cmdline-extra='


def cpus(spec, what):
    """Parse a cpuset string; a bad one raises ValueError naming ``what``."""
    try:
        return cpuset.parse(spec or '', what)
    except exception.InvalidCPUSet as e:
        raise ValueError(str(e))


def fmt(cpu_set):
    return cpuset.format(cpu_set) or '(none)'


def to_kib(size, unit, default_unit='KiB'):
    factor = _UNITS[(unit or default_unit).lower()]
    return int(size) * factor // 1024


def contains_tokens(text, needle):
    """Whether ``needle``'s words appear in ``text`` as one contiguous run."""
    words, want = text.split(), needle.split()
    if not want:
        return True
    return any(words[i:i + len(want)] == want
               for i in range(len(words) - len(want) + 1))


# --- the domain XML, reduced to what the tier cares about -------------------

def summarize(root):
    """Map the elements under test to comparable values.

    Keys name the element (``cputune/vcpusched[vcpu=1]``); values are
    normalised so that two spellings libvirt treats as equal compare equal:
    CPU sets become frozensets, sizes KiB, and ``vcpusched``/
    ``iothreadsched`` ranges one key per vCPU or I/O thread (libvirt 9.0
    splits ``vcpus='1-3'`` into one element per vCPU in ``dumpxml``).
    """
    s = {}
    for tag in ('vcpu', 'iothreads'):
        el = root.find(tag)
        if el is not None and el.text:
            s[tag] = int(el.text.strip())
    for tag, summarize_part in _SUMMARY_PARTS:
        el = root.find(tag)
        if el is not None:
            s.update(summarize_part(el))
    return s


def _summarize_pins(tune):
    s = {}
    for el in tune.findall('vcpupin'):
        key = 'cputune/vcpupin[vcpu=%s]' % el.get('vcpu')
        s[key] = cpus(el.get('cpuset'), key)
    el = tune.find('emulatorpin')
    if el is not None:
        s['cputune/emulatorpin'] = cpus(el.get('cpuset'),
                                        'cputune/emulatorpin')
    for el in tune.findall('iothreadpin'):
        key = 'cputune/iothreadpin[iothread=%s]' % el.get('iothread')
        s[key] = cpus(el.get('cpuset'), key)
    return s


def _summarize_sched(tune):
    s = {}
    for tag, attr, each in (('vcpusched', 'vcpus', 'vcpu'),
                            ('iothreadsched', 'iothreads', 'iothread')):
        for el in tune.findall(tag):
            members = cpus(el.get(attr), 'cputune/%s %s' % (tag, attr))
            for m in sorted(members):
                s['cputune/%s[%s=%d]' % (tag, each, m)] = _sched_of(el)
    el = tune.find('emulatorsched')
    if el is not None:
        s['cputune/emulatorsched'] = _sched_of(el)
    return s


def _sched_of(el):
    return el.get('scheduler'), _int_or_none(el.get('priority'))


def _summarize_cachetune(tune):
    s = {}
    for ct in tune.findall('cachetune'):
        vcpus = fmt(cpus(ct.get('vcpus'), 'cputune/cachetune vcpus'))
        for cache in ct.findall('cache'):
            key = ('cputune/cachetune[vcpus=%s]/cache[id=%s,level=%s,'
                   'type=%s]' % (vcpus, cache.get('id'),
                                 cache.get('level'), cache.get('type')))
            s[key] = to_kib(cache.get('size'), cache.get('unit'), 'B')
    return s


def _summarize_cputune(tune):
    s = _summarize_pins(tune)
    s.update(_summarize_sched(tune))
    s.update(_summarize_cachetune(tune))
    return s


def _summarize_memory_backing(backing):
    s = {}
    for child in backing:
        if child.tag != 'hugepages':
            s['memoryBacking/%s' % child.tag] = tuple(
                sorted(child.attrib.items()))
            continue
        for page in child.findall('page'):
            key = 'memoryBacking/hugepages/page[size=%dKiB,' \
                  'nodeset=%s]' % (to_kib(page.get('size'),
                                          page.get('unit')),
                                   page.get('nodeset', ''))
            s[key] = True
        if not len(child):
            s['memoryBacking/hugepages'] = True
    return s


def _summarize_sysinfo(sysinfo):
    s = {}
    for block in ('bios', 'system', 'baseBoard', 'chassis'):
        for el in sysinfo.findall('%s/entry' % block):
            s['sysinfo/%s/entry[name=%s]' % (block, el.get('name'))] = (
                el.text or '')
    oem = sysinfo.find('oemStrings')
    if oem is not None:
        s['sysinfo/oemStrings'] = tuple(e.text or ''
                                        for e in oem.findall('entry'))
    return s


def _summarize_os(os_el):
    s = {}
    for tag in ('kernel', 'initrd', 'cmdline'):
        el = os_el.find(tag)
        if el is not None:
            s['os/%s' % tag] = el.text or ''
    el = os_el.find('smbios')
    if el is not None:
        s['os/smbios'] = el.get('mode')
    return s


def _summarize_features(features):
    s = {}
    el = features.find('pmu')
    if el is not None:
        s['features/pmu'] = el.get('state', 'on')
    el = features.find('kvm/hint-dedicated')
    if el is not None:
        s['features/kvm/hint-dedicated'] = el.get('state')
    return s


# The top-level elements summarized, each by its own function.
_SUMMARY_PARTS = (
    ('cputune', _summarize_cputune),
    ('memoryBacking', _summarize_memory_backing),
    ('sysinfo', _summarize_sysinfo),
    ('os', _summarize_os),
    ('features', _summarize_features),
)


def _int_or_none(value):
    return int(value) if value not in (None, '') else None


def _show(value):
    if isinstance(value, frozenset):
        return fmt(value)
    return repr(value)


# --- step 2: what libvirt kept -----------------------------------------------

def check_roundtrip(defined_root, dumped_root):
    """Elements under test that ``virsh dumpxml`` lost or changed."""
    defined, dumped = summarize(defined_root), summarize(dumped_root)
    problems = []
    for key in sorted(defined):
        if key not in dumped:
            problems.append('%s: dropped by libvirt at define (defined %s)'
                            % (key, _show(defined[key])))
        elif dumped[key] != defined[key]:
            problems.append('%s: libvirt changed it at define from %s to %s'
                            % (key, _show(defined[key]), _show(dumped[key])))
    return problems


# --- step 0: the XML against the expectations --------------------------------

class Plan:
    """The expectations with their CPU sets parsed, and who owns which CPU."""

    def __init__(self, expect):
        self.expect = expect
        self.vcpus = expect['vcpus']
        self.rt = cpus(expect['realtime_vcpus'], 'realtime_vcpus')
        self.hk = cpus(expect['housekeeping_vcpus'], 'housekeeping_vcpus')
        self.pins = {int(v): cpus(p, 'vcpu_pins[%s]' % v)
                     for v, p in expect['vcpu_pins'].items()}
        self.emulator = cpus(expect['emulator_cpuset'], 'emulator_cpuset')
        # host CPU -> the real-time vCPUs pinned there
        self.rt_owner = {}
        for v in sorted(self.rt):
            for c in self.pins.get(v, ()):
                self.rt_owner.setdefault(c, []).append(v)

    @property
    def rt_pcpus(self):
        return frozenset(self.rt_owner)

    def owners(self, host_cpus):
        """'host CPU 1 of real-time vCPU 1' for the overlap with RT CPUs."""
        return ', '.join(
            'host CPU %d of real-time vCPU %s' % (
                c, ','.join(str(v) for v in self.rt_owner[c]))
            for c in sorted(host_cpus & self.rt_pcpus))

    def used_host_cpus(self):
        used = set(self.emulator)
        for p in self.pins.values():
            used |= p
        return frozenset(used)


def check_plan(expect):
    """Faults in the expectations themselves (they would hide real ones)."""
    problems = []
    try:
        plan = Plan(expect)
    except ValueError as e:
        return ['expectations: %s' % e]
    every = frozenset(range(plan.vcpus))
    if plan.rt | plan.hk != every or plan.rt & plan.hk:
        problems.append(
            'expectations: realtime_vcpus %s and housekeeping_vcpus %s do '
            'not partition vCPUs 0-%d' % (fmt(plan.rt), fmt(plan.hk),
                                           plan.vcpus - 1))
    if set(plan.pins) != every:
        problems.append('expectations: vcpu_pins covers vCPUs %s, not 0-%d'
                        % (fmt(frozenset(plan.pins)), plan.vcpus - 1))
    for field, allowed in (('vcpu_scheduler', RT_CLASSES),
                           ('emulator_scheduler', ('other',) + RT_CLASSES)):
        if expect[field] not in allowed:
            problems.append('expectations: %s %r is not one of %s'
                            % (field, expect[field], ', '.join(allowed)))
    return problems


def check_expectations(root, expect):
    """The generated XML against what nova-rt's core derived on its own."""
    problems = check_plan(expect)
    if problems:
        return problems
    plan = Plan(expect)
    s = summarize(root)
    for check in _EXPECTATION_CHECKS:
        problems.extend(check(s, plan, expect))
    return problems


def _expect_vcpu_count(s, plan, expect):
    if s.get('vcpu') != plan.vcpus:
        return ['vcpu: expected %d vCPUs, the XML has %s'
                % (plan.vcpus, s.get('vcpu'))]
    return []


def _expect_vcpu_pins(s, plan, expect):
    """Every vCPU pinned as planned; no pin for a vCPU the guest lacks."""
    problems = []
    p = problems.append
    for v in range(plan.vcpus):
        key = 'cputune/vcpupin[vcpu=%d]' % v
        if key not in s:
            p('%s: missing (expected host CPUs %s)' % (key, fmt(plan.pins[v])))
        elif s[key] != plan.pins[v]:
            p('%s: expected host CPUs %s, the XML has %s'
              % (key, fmt(plan.pins[v]), fmt(s[key])))
    for key in sorted(k for k in s if k.startswith('cputune/vcpupin[')):
        v = int(key.split('=')[1].rstrip(']'))
        if v not in plan.pins:
            p('%s: pins a vCPU the guest does not have' % key)
        elif v in plan.hk and s[key] & plan.rt_pcpus:
            p('%s: housekeeping vCPU %d is pinned onto %s'
              % (key, v, plan.owners(s[key])))
    return problems


def _expect_emulator_pin(s, plan, expect):
    emu = s.get('cputune/emulatorpin')
    if emu is None:
        return ['cputune/emulatorpin: missing (expected host CPUs %s)'
                % fmt(plan.emulator)]
    problems = []
    if emu != plan.emulator:
        problems.append('cputune/emulatorpin: expected host CPUs %s, the XML '
                        'has %s' % (fmt(plan.emulator), fmt(emu)))
    if emu & plan.rt_pcpus:
        problems.append('cputune/emulatorpin: the emulator thread may run on '
                        '%s' % plan.owners(emu))
    return problems


def _expect_iothread_pins(s, plan, expect):
    return ['%s: the I/O thread may run on %s' % (key, plan.owners(s[key]))
            for key in sorted(k for k in s
                              if k.startswith('cputune/iothreadpin['))
            if s[key] & plan.rt_pcpus]


def _expect_vcpu_sched(s, plan, expect):
    """Real-time vCPUs in the planned class; housekeeping ones not RT."""
    problems = []
    want = (expect['vcpu_scheduler'], expect['vcpu_priority'])
    for v in range(plan.vcpus):
        key = 'cputune/vcpusched[vcpu=%d]' % v
        got = s.get(key)
        if v in plan.rt:
            problems.extend(_realtime_vcpu_sched(key, v, got, want))
        elif got is not None and got[0] in RT_CLASSES:
            problems.append('%s: housekeeping vCPU %d gets the real-time '
                            'class %s' % (key, v, got[0]))
    return problems


def _realtime_vcpu_sched(key, v, got, want):
    if got is None:
        return ['%s: missing: real-time vCPU %d gets no %s class'
                % (key, v, want[0])]
    problems = []
    if got[0] != want[0]:
        problems.append('%s scheduler: expected %s, the XML has %s'
                        % (key, want[0], got[0]))
    if got[1] != want[1]:
        problems.append('%s priority: expected %d, the XML has %s'
                        % (key, want[1], got[1]))
    return problems


def _expect_emulator_sched(s, plan, expect):
    """The emulator and every I/O thread in the emulator's class."""
    problems = []
    emu_want = (expect['emulator_scheduler'], expect['emulator_priority'])
    _check_sched(problems.append, 'cputune/emulatorsched',
                 s.get('cputune/emulatorsched'), emu_want)
    for t in range(1, s.get('iothreads', 0) + 1):
        key = 'cputune/iothreadsched[iothread=%d]' % t
        _check_sched(problems.append, key, s.get(key), emu_want)
    return problems


def _expect_oem_strings(s, plan, expect):
    """The OEM strings, one of them carrying the guest kernel arguments."""
    oem = list(s.get('sysinfo/oemStrings', ()))
    problems = _compare_list('sysinfo/oemStrings', expect['oem_strings'],
                             oem, 'the XML has')
    args = expect['guest_kernel_args']
    if args and CMDLINE_EXTRA + args not in oem:
        problems.append('sysinfo/oemStrings: no %s entry carrying the guest '
                        'kernel arguments %r' % (CMDLINE_EXTRA, args))
    if oem and s.get('os/smbios') != 'sysinfo':
        problems.append('os/smbios: mode="sysinfo" is missing, so QEMU never '
                        'gets the OEM strings (the XML has %r)'
                        % s.get('os/smbios'))
    return problems


def _expect_boot(s, plan, expect):
    """Direct kernel boot with the arguments on its command line, or not."""
    if not expect['direct_kernel_boot']:
        if 'os/kernel' in s:
            return ['os/kernel: present, but the expectations say disk-image '
                    'boot']
        return []
    problems = []
    args = expect['guest_kernel_args']
    if 'os/kernel' not in s:
        problems.append('os/kernel: missing for a direct-kernel-boot guest')
    if args and not contains_tokens(s.get('os/cmdline', ''), args):
        problems.append('os/cmdline: the guest kernel arguments %r are '
                        'missing (the XML has %r)'
                        % (args, s.get('os/cmdline')))
    return problems


def _expect_features(s, plan, expect):
    problems = []
    pmu = s.get('features/pmu', 'on')
    if expect['pmu'] != (pmu == 'on'):
        problems.append('features/pmu: expected state=%r, the XML has %r'
                        % ('on' if expect['pmu'] else 'off',
                           s.get('features/pmu')))
    hint = s.get('features/kvm/hint-dedicated')
    if expect['hint_dedicated'] != (hint == 'on'):
        problems.append('features/kvm/hint-dedicated: expected state=%r, the '
                        'XML has %r'
                        % ('on' if expect['hint_dedicated'] else 'off', hint))
    return problems


def _expect_locked_memory(s, plan, expect):
    locked = 'memoryBacking/locked' in s
    if expect['locked_memory'] != locked:
        return ['memoryBacking/locked: expected %s, the XML %s it'
                % ('present' if expect['locked_memory'] else 'absent',
                   'has' if locked else 'lacks')]
    return []


def _expect_cachetune(s, plan, expect):
    """The planned L3 reservation for the planned vCPUs, and no other."""
    caches = {k: v for k, v in s.items() if k.startswith('cputune/cachetune')}
    ct = expect['cachetune']
    if ct is None:
        return ['%s: unexpected cache reservation' % key
                for key in sorted(caches)]
    problems = []
    p = problems.append
    prefix = 'cputune/cachetune[vcpus=%s]' % fmt(
        cpus(ct['vcpus'], 'cachetune.vcpus'))
    l3 = {k: v for k, v in caches.items()
          if k.startswith(prefix + '/') and ',level=3,' in k}
    if not l3:
        p('%s: missing, or without a level 3 cache (the XML has %s)'
          % (prefix, ', '.join(sorted(caches)) or 'no cachetune'))
    for key in sorted(l3):
        if l3[key] != ct['cache_kib']:
            p('%s size: expected %d KiB, the XML has %d KiB'
              % (key, ct['cache_kib'], l3[key]))
    for key in sorted(caches):
        if not key.startswith(prefix + '/'):
            p('%s: unexpected cache reservation' % key)
    return problems


# What check_expectations compares, in the order its problems are listed;
# each takes the summary, the plan and the expectations.
_EXPECTATION_CHECKS = (
    _expect_vcpu_count,
    _expect_vcpu_pins,
    _expect_emulator_pin,
    _expect_iothread_pins,
    _expect_vcpu_sched,
    _expect_emulator_sched,
    _expect_oem_strings,
    _expect_boot,
    _expect_features,
    _expect_locked_memory,
    _expect_cachetune,
)


def _check_sched(p, key, got, want):
    sched, prio = want
    if sched == 'other':
        if got is not None and got[0] in RT_CLASSES:
            p('%s: expected class other, the XML has %s %s'
              % (key, got[0], got[1]))
        return
    if got is None:
        p('%s: missing (expected %s %s)' % (key, sched, prio))
        return
    if got[0] != sched:
        p('%s scheduler: expected %s, the XML has %s' % (key, sched, got[0]))
    if got[1] != prio:
        p('%s priority: expected %s, the XML has %s' % (key, prio, got[1]))


def _compare_list(what, expected, got, source):
    """Problems for two ordered string lists, naming each entry."""
    if list(expected) == list(got):
        return []
    problems = []
    for e in expected:
        if e not in got:
            problems.append('%s: entry %r is missing (%s %d entries)'
                            % (what, e, source, len(got)))
    for g in got:
        if g not in expected:
            problems.append('%s: unexpected entry %r' % (what, g))
    if not problems:
        problems.append('%s: entries out of order: expected %r, %s %r'
                        % (what, list(expected), source, list(got)))
    return problems


# --- step 3: the QEMU command line libvirt derives ---------------------------

def split_qemu_option(value):
    """``'type=11,value=a,,b'`` -> ``[('type', '11'), ('value', 'a,b')]``.

    QEMU's option syntax: ``,`` separates, ``,,`` is a literal comma.
    """
    parts, cur, i = [], [], 0
    while i < len(value):
        ch = value[i]
        if ch == ',':
            if value[i + 1:i + 2] == ',':
                cur.append(',')
                i += 2
                continue
            parts.append(''.join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append(''.join(cur))
    out = []
    for part in parts:
        key, sep, val = part.partition('=')
        out.append((key, val) if sep else (key, None))
    return out


def parse_argv(text):
    """QEMU options of ``virsh domxml-to-native qemu-argv``.

    Returns ``{option: [values]}`` (None for an option without a value).
    """
    tokens = shlex.split(text.replace('\\\n', ' '))
    opts = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith('-') and i + 1 < len(tokens) and \
                not tokens[i + 1].startswith('-'):
            opts.setdefault(tok, []).append(tokens[i + 1])
            i += 2
            continue
        if tok.startswith('-'):
            opts.setdefault(tok, []).append(None)
        i += 1
    return opts


def check_qemu_argv(text, expect):
    """The QEMU command line against the expectations."""
    opts = parse_argv(text)
    problems = []
    p = problems.append
    cpu_props = []
    for value in opts.get('-cpu', []):
        cpu_props.extend(split_qemu_option(value or ''))
    cpu_flags = {'%s=%s' % kv if kv[1] is not None else kv[0]
                 for kv in cpu_props}
    if not expect['pmu'] and 'pmu=off' not in cpu_flags:
        p('features/pmu: QEMU -cpu lacks pmu=off (got %r)'
          % ','.join(opts.get('-cpu', []) or ['no -cpu']))
    if expect['pmu'] and 'pmu=off' in cpu_flags:
        p('features/pmu: QEMU -cpu has pmu=off, expected the PMU on')
    hint = 'kvm-hint-dedicated=on' in cpu_flags
    if expect['hint_dedicated'] != hint:
        p('features/kvm/hint-dedicated: QEMU -cpu %s kvm-hint-dedicated=on'
          ' (got %r)' % ('lacks' if expect['hint_dedicated'] else 'has',
                         ','.join(opts.get('-cpu', []) or ['no -cpu'])))
    overcommit = ','.join(v or '' for v in opts.get('-overcommit', []) +
                          opts.get('-realtime', []))
    locked = 'mem-lock=on' in overcommit or 'mlock=on' in overcommit
    if expect['locked_memory'] != locked:
        p('memoryBacking/locked: QEMU %s -overcommit mem-lock=on'
          % ('lacks' if expect['locked_memory'] else 'has'))
    oem = []
    for value in opts.get('-smbios', []):
        fields = split_qemu_option(value or '')
        if ('type', '11') in fields:
            oem.extend(v for k, v in fields if k == 'value')
    problems.extend(_compare_list('sysinfo/oemStrings', expect['oem_strings'],
                                  oem, 'QEMU -smbios type=11 has'))
    args = expect['guest_kernel_args']
    if expect['direct_kernel_boot']:
        if not opts.get('-kernel'):
            p('os/kernel: QEMU has no -kernel for a direct-kernel-boot guest')
        append = ' '.join(v or '' for v in opts.get('-append', []))
        if args and not contains_tokens(append, args):
            p('os/cmdline: QEMU -append lacks the guest kernel arguments %r '
              '(got %r)' % (args, append))
    return problems


# --- step 4a: inside the guest -----------------------------------------------

def decode_dmi_type11(raw):
    """The strings of one raw SMBIOS type 11 structure, in order.

    Layout (SMBIOS 3.x, 7.12): type (1 byte, 11), length of the formatted
    area (1), handle (2), string count (1); then the string set: each string
    NUL-terminated, the set ends with an extra NUL.
    """
    if len(raw) < 5 or raw[0] != 11:
        raise ValueError('not an SMBIOS type 11 structure: %r' % raw[:8])
    length, count = raw[1], raw[4]
    strings = raw[length:].split(b'\0')
    return [s.decode('utf-8', 'replace') for s in strings[:count]]


# The console markers that carry one line of text, and their key in
# parse_console's result.
_CONSOLE_TEXT = {'CMDLINE': 'cmdline', 'ISOLATED': 'isolated',
                 'NOHZFULL': 'nohz_full', 'ONLINE': 'online'}


def parse_console(text):
    """The NRT- marker lines the test guest's /init prints.

    Returns a dict: ``cmdline``, ``isolated``, ``nohz_full``, ``online``
    (strings, None when not printed), ``oem`` (list of strings from every
    type 11 structure, in /sys order, decoded once ``ready``),
    ``oem_error`` (why a structure could not be decoded, or None),
    ``ready`` (bool: the guest printed everything).
    """
    out = dict.fromkeys(_CONSOLE_TEXT.values())
    out.update(oem=[], ready=False)
    hexdata = {}
    for tag, value in _console_markers(text):
        if tag in _CONSOLE_TEXT:
            out[_CONSOLE_TEXT[tag]] = value.strip()
        elif tag == 'OEMHEX':
            entry, _, hexline = value.partition(':')
            hexdata.setdefault(entry, []).extend(hexline.split())
        elif tag == 'READY':
            out['ready'] = True
    out['oem_error'] = None
    if out['ready']:     # still being written: decode only complete output
        out['oem'], out['oem_error'] = _decode_oem(hexdata)
    return out


def _console_markers(text):
    """``(tag, value)`` of each ``NRT-TAG:value`` line, in order."""
    for line in text.replace('\r', '').split('\n'):
        idx = line.find('NRT-')
        if idx >= 0:
            tag, _, value = line[idx + 4:].partition(':')
            yield tag, value


def _decode_oem(hexdata):
    """The strings of every type 11 entry, and the last decoding error."""
    oem, error = [], None
    for entry in sorted(hexdata, key=_entry_order):
        try:
            raw = bytes(int(h, 16) for h in hexdata[entry])
            oem.extend(decode_dmi_type11(raw))
        except ValueError as e:
            error = '%s: %s' % (entry, e)
    return oem, error


def _entry_order(name):
    # /sys/firmware/dmi/entries/11-N: order by N
    try:
        return int(name.rpartition('-')[2])
    except ValueError:
        return 0


def check_guest(console, expect):
    """What the guest saw, from ``parse_console``, against expectations."""
    problems = []
    p = problems.append
    args = expect['guest_kernel_args']
    if console['cmdline'] is None:
        p('guest: printed no /proc/cmdline (is the console log complete?)')
        return problems
    on_cmdline = expect['direct_kernel_boot'] and bool(args)
    if on_cmdline and not contains_tokens(console['cmdline'], args):
        p('os/cmdline: guest /proc/cmdline lacks the derived arguments %r '
          '(got %r)' % (args, console['cmdline']))
    if on_cmdline:
        plan = Plan(expect)
        for what, token in (('isolated', 'isolcpus='),
                            ('nohz_full', 'nohz_full=')):
            if token not in args:
                continue
            value = console[what] or ''
            if value == '(null)':      # the kernel's "nothing" for nohz_full
                value = ''
            try:
                got = cpus(value, what)
            except ValueError as e:
                p('os/cmdline: guest /sys/devices/system/cpu/%s: %s'
                  % (what, e))
                continue
            if got != plan.rt:
                p('os/cmdline: guest /sys/devices/system/cpu/%s is %r, '
                  'expected the real-time vCPUs %s'
                  % (what, console[what], fmt(plan.rt)))
    if console.get('oem_error'):
        p('sysinfo/oemStrings: guest SMBIOS type 11 entry %s'
          % console['oem_error'])
    problems.extend(_compare_list(
        'sysinfo/oemStrings', expect['oem_strings'], console['oem'],
        'the guest read back'))
    return problems


# --- step 4b: QEMU's threads on the host -------------------------------------

def check_threads(snapshot, expect):
    """QEMU's threads, as ``host.thread_snapshot`` reads them.

    ``snapshot``: ``{'pid': int, 'vcpus': {index: tid},
    'iothreads': {n: tid}, 'threads': {tid: {'comm', 'policy', 'priority',
    'affinity' (frozenset), 'processor'}}}``.
    """
    plan = Plan(expect)
    problems = []
    for check in (_vcpu_threads, _emulator_thread, _io_threads,
                  _other_threads):
        problems.extend(check(snapshot, plan, expect))
    return problems


def _desc(threads, tid):
    return 'thread %d (%s)' % (tid, threads[tid]['comm'])


def _vcpu_threads(snapshot, plan, expect):
    threads = snapshot['threads']
    problems = []
    for v in range(plan.vcpus):
        tid = snapshot['vcpus'].get(v)
        if tid is None or tid not in threads:
            problems.append('cputune/vcpupin[vcpu=%d]: host: no QEMU thread '
                            'found for vCPU %d' % (v, v))
            continue
        t, pin, desc = threads[tid], plan.pins[v], _desc(threads, tid)
        if v in plan.rt:
            problems.extend(_realtime_vcpu_thread(v, desc, t, pin, expect))
        else:
            problems.extend(_housekeeping_vcpu_thread(v, desc, t, plan))
        if t['affinity'] != pin:
            problems.append('cputune/vcpupin[vcpu=%d]: host: vCPU %d %s may '
                            'run on host CPUs %s, pinned to %s'
                            % (v, v, desc, fmt(t['affinity']), fmt(pin)))
    return problems


def _realtime_vcpu_thread(v, desc, t, pin, expect):
    problems = []
    p = problems.append
    want_cls = expect['vcpu_scheduler']
    want_prio = expect['vcpu_priority']
    if t['policy'] != want_cls:
        p('cputune/vcpusched[vcpu=%d] scheduler: host: real-time '
          'vCPU %d %s runs SCHED_%s, expected SCHED_%s'
          % (v, v, desc, t['policy'].upper(), want_cls.upper()))
    if t['priority'] != want_prio:
        p('cputune/vcpusched[vcpu=%d] priority: host: real-time '
          'vCPU %d %s runs at priority %d, expected %d'
          % (v, v, desc, t['priority'], want_prio))
    if t['processor'] not in pin:
        p('cputune/vcpupin[vcpu=%d]: host: real-time vCPU %d %s last '
          'ran on CPU %d, pinned to %s'
          % (v, v, desc, t['processor'], fmt(pin)))
    return problems


def _housekeeping_vcpu_thread(v, desc, t, plan):
    problems = []
    if t['policy'] in RT_CLASSES:
        problems.append('cputune/vcpusched[vcpu=%d]: host: housekeeping '
                        'vCPU %d %s runs SCHED_%s'
                        % (v, v, desc, t['policy'].upper()))
    if t['affinity'] & plan.rt_pcpus:
        problems.append('cputune/vcpupin[vcpu=%d]: host: housekeeping '
                        'vCPU %d %s may run on %s'
                        % (v, v, desc, plan.owners(t['affinity'])))
    return problems


def _emulator_thread(snapshot, plan, expect):
    threads, pid = snapshot['threads'], snapshot['pid']
    if pid not in threads:
        return ['cputune/emulatorpin: host: the QEMU main thread %d is gone'
                % pid]
    problems = []
    p = problems.append
    t, desc = threads[pid], _desc(threads, pid)
    if t['affinity'] & plan.rt_pcpus:
        p('cputune/emulatorpin: host: the emulator %s may run on %s'
          % (desc, plan.owners(t['affinity'])))
    if t['affinity'] != plan.emulator:
        p('cputune/emulatorpin: host: the emulator %s may run on host '
          'CPUs %s, expected %s' % (desc, fmt(t['affinity']),
                                    fmt(plan.emulator)))
    _check_thread_class(p, 'cputune/emulatorsched', 'the emulator', desc, t,
                        expect['emulator_scheduler'],
                        expect['emulator_priority'])
    return problems


def _io_threads(snapshot, plan, expect):
    threads = snapshot['threads']
    problems = []
    p = problems.append
    for n, tid in sorted(snapshot['iothreads'].items()):
        if tid not in threads:
            continue
        t, desc = threads[tid], _desc(threads, tid)
        if t['affinity'] & plan.rt_pcpus:
            p('cputune/iothreadpin[iothread=%d]: host: I/O %s may run on %s'
              % (n, desc, plan.owners(t['affinity'])))
        _check_thread_class(p, 'cputune/iothreadsched[iothread=%d]' % n,
                            'I/O thread %d' % n, desc, t,
                            expect['emulator_scheduler'],
                            expect['emulator_priority'])
    return problems


def _other_threads(snapshot, plan, expect):
    """QEMU's threads that are neither vCPU, I/O nor the main thread."""
    threads = snapshot['threads']
    known = (set(snapshot['vcpus'].values()) |
             set(snapshot['iothreads'].values()))
    known.add(snapshot['pid'])
    return ['cputune/emulatorpin: host: QEMU %s may run on %s'
            % (_desc(threads, tid), plan.owners(threads[tid]['affinity']))
            for tid in sorted(set(threads) - known)
            if threads[tid]['affinity'] & plan.rt_pcpus]


def _check_thread_class(p, key, who, tdesc, t, cls, prio):
    if cls == 'other':
        if t['policy'] in RT_CLASSES:
            p('%s: host: %s %s runs SCHED_%s, expected SCHED_OTHER'
              % (key, who, tdesc, t['policy'].upper()))
        return
    if t['policy'] != cls:
        p('%s scheduler: host: %s %s runs SCHED_%s, expected SCHED_%s'
          % (key, who, tdesc, t['policy'].upper(), cls.upper()))
    if t['priority'] != prio:
        p('%s priority: host: %s %s runs at priority %d, expected %s'
          % (key, who, tdesc, t['priority'], prio))
