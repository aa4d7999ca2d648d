#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Check reStructuredText documents with docutils, warnings as errors.

Usage: tests/rstcheck.py KERNEL_DOC FILE.rst...

docutils knows no Sphinx extension. The kernel's documentation build adds
the kernel-doc directive; here a stand-in takes its place: it runs
KERNEL_DOC (scripts/kernel-doc of a kernel tree) on the named file, whose
path is relative to the top of the repository as it is to the top of a
kernel tree, and fails when the file is missing, an option is unknown,
kernel-doc warns or finds nothing. The stand-in inserts nothing: what
kernel-doc writes is Sphinx markup, which docutils cannot parse.

Any other unknown directive or role, and every docutils warning, fails.
"""

import io
import os
import subprocess
import sys

from docutils.core import publish_doctree
from docutils.parsers.rst import Directive, directives
from docutils.utils import SystemMessage

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class KernelDocStandIn(Directive):
    """``.. kernel-doc:: FILE`` with the options the kernel's build takes."""

    kernel_doc = 'scripts/kernel-doc'
    required_arguments = 1
    has_content = False
    option_spec = {
        'doc': directives.unchanged_required,
        'export': directives.unchanged,
        'internal': directives.unchanged,
        'identifiers': directives.unchanged,
        'no-identifiers': directives.unchanged,
        'functions': directives.unchanged,
    }

    def run(self):
        path = self.arguments[0]
        if not os.path.isfile(os.path.join(TOP, path)):
            raise self.error('kernel-doc: no file %s' % path)
        cmd = ['perl', self.kernel_doc, '-rst', '-sphinx-version', '3.0', '-Wall']
        if 'doc' in self.options:
            cmd += ['-function', self.options['doc']]
        for name in ('identifiers', 'functions'):
            for ident in self.options.get(name, '').split():
                cmd += ['-function', ident]
        for ident in self.options.get('no-identifiers', '').split():
            cmd += ['-nosymbol', ident]
        if 'export' in self.options:
            cmd.append('-export')
        if 'internal' in self.options:
            cmd.append('-internal')
        cmd.append(path)
        run = subprocess.run(cmd, cwd=TOP, capture_output=True, text=True,
                             check=False)
        if run.returncode or run.stderr.strip():
            raise self.error('%s: status %d\n%s' % (' '.join(cmd[1:]),
                                                   run.returncode, run.stderr))
        if '.. c:' not in run.stdout and '**' not in run.stdout:
            raise self.error('%s: found nothing to document' % ' '.join(cmd[1:]))
        return []


def check(path):
    """Parse one document; a warning or worse raises SystemMessage."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    publish_doctree(text, source_path=path, settings_overrides={
        'halt_level': 2,		# warning
        'report_level': 2,
        'input_encoding': 'utf-8',
        'warning_stream': io.StringIO(),	# the exception says it all
    })


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__.split('\n\n')[1] + '\n')
        return 2
    KernelDocStandIn.kernel_doc = sys.argv[1]
    directives.register_directive('kernel-doc', KernelDocStandIn)
    failed = 0
    for path in sys.argv[2:]:
        try:
            check(path)
            print('rstcheck: %s: ok' % path)
        except SystemMessage as e:
            print('rstcheck: %s' % e)
            failed = 1
    return failed


if __name__ == '__main__':
    sys.exit(main())
