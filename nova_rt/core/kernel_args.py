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
"""Kernel command lines, the way the kernel reads them.

One tokenizer and one parameter-name comparison for the host (its
/proc/cmdline), the flavor key ``rt:guest_kernel_args`` and the guest tool
(its boot loader configuration), plus the partitioning arguments nova-rt
derives for a host and for a guest alike. Standard library only:
``nova-rt-guest`` imports it inside guests.
"""

import re

# key or key=value; the key cannot start with '-', so '--' (everything
# after it goes to init) and option-like tokens cannot be smuggled in.
# fullmatch only: '$' would also match before a trailing newline.
TOKEN = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]*(=[A-Za-z0-9_.,=:/+-]*)?')
_ALLOWED = re.compile(r'[A-Za-z0-9_.,=:/+\- ]*')

# Arguments nova-rt computes from the real-time CPUs: a second, different
# value would silently undo the partitioning.
DERIVED_KEYS = ('isolcpus', 'nohz', 'nohz_full', 'rcu_nocbs', 'irqaffinity')


def split_cmdline(raw):
    """Split a command line as the kernel's next_arg() does, in one pass.

    Whitespace separates arguments except inside double quotes, which may
    open anywhere (``param="a b"`` or ``"param=a b"``); an unclosed quote
    runs to the end. The tokens keep their quotes (``unquote`` drops them),
    so a guest can write an administrator's argument back unchanged.
    """
    tokens, start, quoted = [], None, False
    for i, ch in enumerate(raw or ''):
        if ch == '"':
            quoted = not quoted
        elif quoted or not ch.isspace():
            pass
        else:
            if start is not None:
                tokens.append(raw[start:i])
            start = None
            continue
        if start is None:
            start = i
    if start is not None:
        tokens.append(raw[start:])
    return tokens


def unquote(token):
    """A token as the kernel hands it on: without its double quotes."""
    return token.replace('"', '')


def param_name(name):
    """The kernel's spelling of a parameter name: parameq() treats ``-``
    and ``_`` as the same character, so ``nohz-full`` is ``nohz_full``.
    """
    return name.replace('-', '_')


def key_of(token):
    """The parameter name of a ``key`` or ``key=value`` token, folded with
    ``param_name``: every comparison of names goes through it.
    """
    return param_name(unquote(token).split('=', 1)[0])


def is_derived(token):
    """Is ``token`` one of the arguments nova-rt derives, however spelt?"""
    return key_of(token) in DERIVED_KEYS


def split_tokens(value, max_length):
    """Split a kernel argument string, refusing anything outside the
    grammar: ``key`` or ``key=value`` tokens of ``[A-Za-z0-9_.,=:/+-]``,
    separated by spaces. The one grammar for the flavor key (host side) and
    the OEM strings ``nova-rt-guest`` reads back (guest side).

    :returns: a tuple of tokens
    :raises: ValueError with the reason
    """
    if not isinstance(value, str):
        raise ValueError('%r is not a string' % (value,))
    if len(value) > max_length:
        raise ValueError('%d characters; at most %d' % (len(value),
                                                        max_length))
    if not _ALLOWED.fullmatch(value):
        bad = sorted({c for c in value if not _ALLOWED.fullmatch(c)})
        raise ValueError(
            'character(s) %s not allowed; only letters, digits, spaces and '
            '_ . , = : / + -' % ' '.join(repr(c) for c in bad))
    tokens = tuple(t for t in value.split(' ') if t)
    if not tokens:
        raise ValueError('no argument given')
    for token in tokens:
        if not TOKEN.fullmatch(token):
            raise ValueError('%r is not key or key=value (a key starts with '
                             'a letter, digit or _)' % token)
    return tokens


def partitioning_args(isolated, housekeeping):
    """The arguments that partition a kernel's CPUs, host or guest alike,
    as ``(name, value)`` pairs in order (``value`` None for a flag).

    :param isolated: the real-time CPUs, canonical cpuset text
    :param housekeeping: the others, canonical cpuset text
    """
    return (
        ('isolcpus', 'managed_irq,domain,' + isolated),
        ('nohz', 'on'),
        ('nohz_full', isolated),
        ('rcu_nocbs', isolated),
        ('irqaffinity', housekeeping),
        ('skew_tick', '1'),
        ('tsc', 'reliable'),
        ('nosoftlockup', None),
    )


def render(name, value):
    """``name=value``, or ``name`` alone for a flag."""
    return name if value is None else '%s=%s' % (name, value)
