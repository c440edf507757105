#!/usr/bin/env python3
"""Stands in for powershell.exe in tests of `transport = "powershell"`.

cu-roll starts `<powershell_path> -NoProfile -NonInteractive -EncodedCommand
<base64 UTF-16LE>`. The wrapper it sends runs the real script on the target
with `Invoke-Command -ComputerName '<fqdn>' -ScriptBlock
([scriptblock]::Create('<script>'))`. This shim decodes that (or cu-roll's
stdin bootstrap), takes out the FQDN and the script, and runs the script on
the lab server named by the FQDN's first label through `cu-roll exec
$CUROLL_SHIM_PLAN --server NAME --ps SCRIPT` (an in-process lab plan), then
behaves like the wrapper would: stdout through, stderr through, exit 1 when
the script failed. It checks the wrapper's shape strictly, so a change in
what cu-roll sends fails the tests.
"""

import base64
import os
import re
import subprocess
import sys

BOOTSTRAP = (
    "$s=[Text.Encoding]::UTF8.GetString([Convert]::FromBase64String([Console]::In.ReadLine()));"
    "& ([scriptblock]::Create($s))"
)
QUOTES = "'\u2018\u2019\u201a\u201b"
LITERAL = "'((?:[^" + QUOTES + "]|[" + QUOTES + "]{2})*)'"
WRAPPER = re.compile(
    r"\A\[Console\]::OutputEncoding = \[Text\.Encoding\]::UTF8\n"
    r"\$ProgressPreference = 'SilentlyContinue'\n"
    r"Invoke-Command -ComputerName " + LITERAL + r" -ScriptBlock \(\[scriptblock\]::Create\(" + LITERAL + r"\)\)\n"
    r"if \(-not \$\?\) \{ exit 1 \}\n\Z",
    re.S,
)
# `ps_secret_wrapper`: the secret's line follows the wrapper's on stdin and
# reaches the script's own stdin through a SecureString argument.
SECRET_WRAPPER = re.compile(
    r"\A\[Console\]::OutputEncoding = \[Text\.Encoding\]::UTF8\n"
    r"\$ProgressPreference = 'SilentlyContinue'\n"
    r"\$line = New-Object -TypeName System\.Security\.SecureString\n"
    r"foreach \(\$c in \[Console\]::In\.ReadLine\(\)\.ToCharArray\(\)\) \{ \$line\.AppendChar\(\$c\) \}\n"
    r"Invoke-Command -ComputerName " + LITERAL + r" -ArgumentList \$line -ScriptBlock \(\[scriptblock\]::Create\(" + LITERAL + r"\)\)\n"
    r"if \(-not \$\?\) \{ exit 1 \}\n\Z",
    re.S,
)
CMD = re.compile(r"\Acmd\.exe /c " + LITERAL + r"\n\"__CUROLL_EXIT__=\$LASTEXITCODE\"\Z", re.S)


def unquote(text):
    return re.sub("([" + QUOTES + "])\\1", "\\1", text)


def main(argv):
    if argv[:3] != ["-NoProfile", "-NonInteractive", "-EncodedCommand"] or len(argv) != 4:
        sys.stderr.write("shim: unexpected arguments %r\n" % (argv,))
        return 64
    wrapper = base64.b64decode(argv[3]).decode("utf-16-le")
    stdin_lines = []
    if wrapper == BOOTSTRAP:
        stdin_lines = sys.stdin.read().split("\r\n")
        wrapper = base64.b64decode(stdin_lines[0]).decode("utf-8")
    m = WRAPPER.match(wrapper)
    secret = SECRET_WRAPPER.match(wrapper)
    if m:
        fqdn, script = unquote(m.group(1)), unquote(m.group(2))
    elif secret and len(stdin_lines) > 1:
        fqdn, remote = unquote(secret.group(1)), unquote(secret.group(2))
        inner = re.search(r"-EncodedCommand " + LITERAL, remote)
        script = base64.b64decode(unquote(inner.group(1))).decode("utf-16-le")
        # `cu-roll exec` has no stdin for the script: the shim (a test
        # stand-in for Windows) puts the secret's line in as a literal.
        script = script.replace("[Console]::In.ReadLine()", "'%s'" % stdin_lines[1])
    else:
        sys.stderr.write("shim: not cu-roll's Invoke-Command wrapper:\n%s\n" % wrapper)
        return 64
    server = fqdn.split(".")[0].upper()
    cmd = CMD.match(script)
    args = [os.environ["CUROLL_SHIM_BIN"], "exec", os.environ["CUROLL_SHIM_PLAN"], "--server", server]
    if "CUROLL_SHIM_STATE" in os.environ:
        args += ["--state-dir", os.environ["CUROLL_SHIM_STATE"]]
    args += [unquote(cmd.group(1))] if cmd else ["--ps", script]
    run = subprocess.run(args, capture_output=True)
    err = run.stderr.decode("utf-8", "replace")
    # `cu-roll exec` ends stderr with "exit code N".
    found = re.search(r"exit code (-?\d+)\s*\Z", err)
    code = int(found.group(1)) if found else 1
    err = err[: found.start()] if found else err
    sys.stdout.write(run.stdout.decode("utf-8", "replace"))
    if cmd:
        sys.stdout.write("__CUROLL_EXIT__=%d\r\n" % code)
    sys.stderr.write(err)
    return 0 if cmd or code == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
