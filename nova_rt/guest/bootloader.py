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
"""The guest's boot loader: the delivered arguments made persistent with
grubby, /etc/default/grub.d or kernel-install, replacing what nova-rt set
before and nothing else.
"""

import dataclasses
import os
import re
import shutil
import subprocess

from nova_rt.core import kernel_args
from nova_rt.guest import delivery as guest_delivery
from nova_rt.guest import GuestError

# Paths relative to the root (which stands for '/').
PROC_CMDLINE = 'proc/cmdline'
PROC_OSRELEASE = 'proc/sys/kernel/osrelease'
STATE_FILE = 'etc/nova-rt/guest-args'
GRUB_DEFAULT = 'etc/default/grub'
GRUB_D_FILE = 'etc/default/grub.d/90-nova-rt.cfg'
KERNEL_CMDLINE = 'etc/kernel/cmdline'
KERNEL_CMDLINE_DEFAULT = 'usr/lib/kernel/cmdline'

METHODS = ('grubby', 'grub.d', 'kernel-install')

_OSRELEASE = re.compile(r'[A-Za-z0-9._+~-]+')
_TOOL_TIMEOUT = 900  # seconds; kernel-install may rebuild an initramfs


@dataclasses.dataclass(frozen=True)
class Result:
    method: str
    args: tuple
    changed: bool
    reboot_needed: bool
    dry_run: bool = False


def _read_text(path):
    """The file's text, or None when it does not exist."""
    try:
        with open(path, encoding='utf-8', errors='surrogateescape') as f:
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise GuestError(reason='cannot read %s: %s' % (path, e.strerror))


def _write_text(path, text):
    """Replace the file atomically (0644), creating its directory.

    The text goes to a temporary file created afresh (O_CREAT | O_EXCL |
    O_NOFOLLOW: a stale temporary file, or a symlink planted there, is
    removed, never followed), then renamed over the file.
    """
    tmp = path + '.nova-rt-tmp'
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                     os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, 'w', encoding='utf-8',
                       errors='surrogateescape') as f:
            os.fchmod(f.fileno(), 0o644)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        raise GuestError(reason='cannot write %s: %s' % (path, e.strerror))


def _restore(path, text):
    """Put back what _read_text returned (None: remove the file)."""
    if text is None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise GuestError(reason='cannot remove %s: %s'
                             % (path, e.strerror))
    else:
        _write_text(path, text)


def _undoing(undo, error):
    """Run ``undo`` after ``error``; the error to raise says whether the
    boot loader is back as it was.
    """
    try:
        undo()
    except GuestError as e:
        return GuestError(reason='%s; and the boot loader could not be put '
                          'back: %s' % (error, e))
    return GuestError(reason='%s; nothing was changed' % error)


def _checked(tokens):
    """Defence in depth: nothing reaches a file or an argv unchecked."""
    for token in tokens:
        if not kernel_args.TOKEN.fullmatch(token):
            raise GuestError(reason='refused: %r is not key or key=value'
                             % token)
    return tokens


def _run(argv):
    """Run a boot loader tool (an argv list, never a shell)."""
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True,
                              errors='replace', timeout=_TOOL_TIMEOUT,
                              check=False)
    except (OSError, subprocess.SubprocessError) as e:
        raise GuestError(reason='%s failed: %s' % (argv[0], e))
    if proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        raise GuestError(reason='%s failed with exit code %d%s' % (
            ' '.join(argv[:2]), proc.returncode,
            ': %s' % detail[-1] if detail else ''))
    return proc.stdout


def reboot_needed(wanted, running):
    """Whether the running kernel lacks the wanted arguments.

    True when a wanted token is missing from the running command line, or
    when it also carries another value for one of the wanted keys (a resize
    changed the real-time vCPUs).
    """
    keys = {kernel_args.key_of(t) for t in wanted}
    return {t for t in running if kernel_args.key_of(t) in keys} != set(wanted)


def _replace_managed(tokens, wanted, managed_keys):
    """tokens without the managed keys, then the wanted arguments."""
    kept = [t for t in tokens if kernel_args.key_of(t) not in managed_keys]
    return kept + list(wanted)


# --- the boot loader methods -------------------------------------------------

@dataclasses.dataclass(frozen=True)
class _Context:
    root: str
    wanted: tuple
    managed_keys: frozenset
    dry_run: bool
    search_path: str

    def path(self, rel):
        return os.path.join(self.root, rel)

    def tool(self, name):
        return shutil.which(name, path=self.search_path)


def _grubby_kernels(grubby):
    """(kernel, args) of every boot entry grubby knows."""
    kernels, kernel = [], None
    for line in _run([grubby, '--info=ALL']).splitlines():
        name, _, value = line.partition('=')
        value = value.strip().strip('"')
        if name == 'kernel':
            kernel = value
        elif name == 'args':
            kernels.append((kernel, value))
    if not kernels:
        raise GuestError(reason='grubby --info=ALL lists no kernel')
    return kernels


def _managed_tokens(args, managed_keys):
    return [t for t in kernel_args.split_cmdline(
        args) if kernel_args.key_of(t) in managed_keys]


def _grubby_restore(grubby, before, managed_keys):
    """Each entry's managed arguments as they were, if they changed."""
    now = dict(_grubby_kernels(grubby))
    for kernel, args in before:
        if now.get(kernel) == args:
            continue
        current = [kernel_args.unquote(t).split('=', 1)[0]
                   for t in _managed_tokens(now.get(kernel, ''),
                                            managed_keys)]
        argv = [grubby, '--update-kernel=%s' % kernel]
        if current:
            argv.append('--remove-args=%s' % ' '.join(sorted(set(current))))
        previous = _managed_tokens(args, managed_keys)
        if previous:
            argv.append('--args=%s' % ' '.join(previous))
        _run(argv)
    if dict(_grubby_kernels(grubby)) != dict(before):
        raise GuestError(reason='grubby shows other arguments than before')


def _apply_grubby(ctx):
    """grubby --update-kernel=ALL: every installed kernel gets the args.

    One call removes every spelling of the managed keys and adds the wanted
    arguments; grubby's own listing then verifies the result. When that
    call or the verification fails, each entry's managed arguments are put
    back. Nothing runs when every kernel already has exactly the wanted
    values for the managed keys.

    :returns: None when nothing changed, else the function that undoes it
    """
    grubby = ctx.tool('grubby')
    if grubby is None:
        raise GuestError(reason='grubby is not on PATH')
    before = _grubby_kernels(grubby)
    want = sorted(ctx.wanted)
    if all(sorted(_managed_tokens(args, ctx.managed_keys)) == want
           for _, args in before):
        return None
    if ctx.dry_run:
        return _NOTHING_TO_UNDO

    def undo():
        _grubby_restore(grubby, before, ctx.managed_keys)

    remove = ' '.join(sorted(_spellings([a for _, a in before],
                                        ctx.managed_keys)))
    try:
        _run([grubby, '--update-kernel=ALL', '--remove-args=%s' % remove,
              '--args=%s' % ' '.join(_checked(ctx.wanted))])
        if not all(sorted(_managed_tokens(args, ctx.managed_keys)) == want
                   for _, args in _grubby_kernels(grubby)):
            raise GuestError(reason='grubby did not apply the arguments to '
                             'every kernel')
    except GuestError as e:
        raise _undoing(undo, e)
    return undo


def _spellings(cmdlines, managed_keys):
    """The managed keys as each command line spells them: grubby removes
    ``nohz-full`` only when asked for ``nohz-full``, though the kernel
    reads it as ``nohz_full``.
    """
    found = set(managed_keys)
    for args in cmdlines:
        for token in kernel_args.split_cmdline(args):
            if kernel_args.key_of(token) in managed_keys:
                found.add(kernel_args.unquote(token).split('=', 1)[0])
    return found


def _grub_mkconfig_argv(ctx):
    if ctx.tool('update-grub'):
        return [ctx.tool('update-grub')]
    if ctx.tool('grub-mkconfig'):
        return [ctx.tool('grub-mkconfig'), '-o',
                ctx.path('boot/grub/grub.cfg')]
    if ctx.tool('grub2-mkconfig'):
        return [ctx.tool('grub2-mkconfig'), '-o',
                ctx.path('boot/grub2/grub.cfg')]
    raise GuestError(reason='none of update-grub, grub-mkconfig, '
                     'grub2-mkconfig is on PATH')


def grub_d_text(wanted):
    return ('# Written by nova-rt-guest apply; rewritten on every change.\n'
            '# The real-time kernel arguments the host delivered in the\n'
            '# SMBIOS OEM string %s.\n'
            'GRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX} %s"\n'
            % (guest_delivery.KERNEL_ARGS_KEY, ' '.join(_checked(wanted))))


def _replace_file(path, old, new, regenerate):
    """Write ``new`` over ``path`` (``old`` before), then ``regenerate``;
    on failure put ``old`` back and regenerate again.

    :returns: the function that undoes the change
    """
    def undo():
        _restore(path, old)
        if _read_text(path) != old:
            raise GuestError(reason='%s could not be put back' % path)
        regenerate()

    try:
        _write_text(path, new)
        if _read_text(path) != new:
            raise GuestError(reason='%s does not read back as written'
                             % path)
        regenerate()
    except GuestError as e:
        raise _undoing(lambda: _restore(path, old), e)
    return undo


def _apply_grub_d(ctx):
    """/etc/default/grub.d/90-nova-rt.cfg, then regenerate grub.cfg.

    The file is nova-rt's alone, so rewriting it replaces the previous
    arguments. When the regeneration fails the previous file is put back,
    so nothing changed and the next run tries again.
    """
    argv = _grub_mkconfig_argv(ctx)
    path = ctx.path(GRUB_D_FILE)
    old, new = _read_text(path), grub_d_text(ctx.wanted)
    if old == new:
        return None
    if ctx.dry_run:
        return _NOTHING_TO_UNDO
    return _replace_file(path, old, new, lambda: _run(argv))


def _running_kernel_image(ctx):
    release = (_read_text(ctx.path(PROC_OSRELEASE)) or '').strip()
    if not _OSRELEASE.fullmatch(release):
        raise GuestError(reason='cannot tell the running kernel from %s'
                         % ctx.path(PROC_OSRELEASE))
    for rel in ('usr/lib/modules/%s/vmlinuz' % release,
                'lib/modules/%s/vmlinuz' % release,
                'boot/vmlinuz-%s' % release):
        if os.path.isfile(ctx.path(rel)):
            return release, ctx.path(rel)
    raise GuestError(reason='no image of the running kernel %s in '
                     '/usr/lib/modules, /lib/modules or /boot' % release)


def _apply_kernel_install(ctx):
    """/etc/kernel/cmdline (a whole command line), then kernel-install add.

    Starts from the file, else from /usr/lib/kernel/cmdline, else from the
    running command line as kernel-install does; the managed keys are
    replaced, the others kept. ``kernel-install add`` for the running
    kernel then rewrites its boot entry.
    """
    tool = ctx.tool('kernel-install')
    if tool is None:
        raise GuestError(reason='kernel-install is not on PATH')
    path = ctx.path(KERNEL_CMDLINE)
    old = _read_text(path)
    if old is not None:
        base = kernel_args.split_cmdline(old)
    else:
        base = kernel_args.split_cmdline(
            _read_text(ctx.path(KERNEL_CMDLINE_DEFAULT)))
        if not base:
            base = [t for t in
                    kernel_args.split_cmdline(
                        _read_text(ctx.path(PROC_CMDLINE)))
                    if not t.startswith(('BOOT_IMAGE=', 'initrd='))]
    new = ' '.join(_replace_managed(base, _checked(ctx.wanted),
                                    ctx.managed_keys)) + '\n'
    if old == new:
        return None
    release, image = _running_kernel_image(ctx)
    if ctx.dry_run:
        return _NOTHING_TO_UNDO
    return _replace_file(path, old, new,
                         lambda: _run([tool, 'add', release, image]))


def _NOTHING_TO_UNDO():
    """A dry run changed nothing."""


_APPLY = {
    'grubby': _apply_grubby,
    'grub.d': _apply_grub_d,
    'kernel-install': _apply_kernel_install,
}


def choose_method(root, search_path):
    """auto: grubby, else GRUB with /etc/default/grub, else kernel-install."""
    if shutil.which('grubby', path=search_path):
        return 'grubby'
    if os.path.isfile(os.path.join(root, GRUB_DEFAULT)):
        return 'grub.d'
    if shutil.which('kernel-install', path=search_path):
        return 'kernel-install'
    raise GuestError(reason='no supported boot loader: no grubby on PATH, '
                     'no /etc/default/grub, no kernel-install on PATH')


# --- apply -------------------------------------------------------------------

def read_state(root):
    """The arguments nova-rt-guest applied last (empty the first time)."""
    path = os.path.join(root, STATE_FILE)
    text = _read_text(path)
    if text is None:
        return ()
    lines = [line for line in text.splitlines()
             if line.strip() and not line.startswith('#')]
    if not lines:
        return ()
    return guest_delivery.parse_args(' '.join(lines), path)


def state_text(wanted):
    return ('# The kernel arguments nova-rt-guest apply last made '
            'persistent;\n'
            '# their keys are replaced on the next change. Do not edit.\n'
            '%s\n' % ' '.join(_checked(wanted)))


def _commit_state(root, wanted, undo):
    """Record what was applied, atomically; if that fails, undo the boot
    loader change too, so the two never disagree.
    """
    state = os.path.join(root, STATE_FILE)
    if _read_text(state) == state_text(wanted):
        return
    try:
        _write_text(state, state_text(wanted))
    except GuestError as e:
        if undo is None:
            raise
        raise _undoing(undo, e)


def apply(root, method, dry_run, delivery, search_path):
    """Make the delivered arguments persistent in the boot loader, all or
    nothing: the new arguments are computed first, applied in one
    boot-loader operation, verified, and the state file committed last;
    any failure undoes what was done (GuestError, exit 2: nothing changed).

    :returns: Result
    :raises: GuestError
    """
    wanted = delivery.kernel_args
    if method == 'auto':
        method = choose_method(root, search_path)
    previous = read_state(root)
    managed = frozenset(kernel_args.DERIVED_KEYS) | {
        kernel_args.key_of(t) for t in previous + wanted}
    ctx = _Context(root=root, wanted=wanted, managed_keys=managed,
                   dry_run=dry_run, search_path=search_path)
    undo = _APPLY[method](ctx)
    if not dry_run:
        _commit_state(root, wanted, undo)
    running = kernel_args.split_cmdline(
        _read_text(os.path.join(root, PROC_CMDLINE)))
    return Result(method=method, args=wanted, changed=undo is not None,
                  reboot_needed=reboot_needed(wanted, running),
                  dry_run=dry_run)
