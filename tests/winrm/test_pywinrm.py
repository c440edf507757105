"""pywinrm — a WinRM client cu-roll did not write — against `cu-roll lab serve`.

Starts the built binary (target/debug/cu-roll, or $CUROLL_BIN) on a copy of
plans/lab-winrm.toml moved to free loopback ports, waits for its `NAME URL`
lines, and talks to it the way an admin's script would. Run by
scripts/test inside the venv under target/pyenv.
"""

import base64
import json
import os
import re
import shutil
import socket
import sys
import subprocess
import tempfile
import time
import unittest

import winrm
from winrm.exceptions import InvalidCredentialsError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("CUROLL_BIN", os.path.join(REPO, "target", "debug", "cu-roll"))
USER = "lab\\admin"
PASSWORD = "lab-only-password"
# In a WinRM network logon the Exchange snap-in cannot reach AD (the second
# hop); Exchange cmdlets run in an Exchange remote session, as on a real
# server (the lab enforces both). Test-only: the lab's password as a literal.
def exchange_session(fqdn):
    return (
        "$p = New-Object System.Security.SecureString; "
        "foreach ($c in 'lab-only-password'.ToCharArray()) { $p.AppendChar($c) }; "
        "$cred = New-Object System.Management.Automation.PSCredential -ArgumentList 'lab\\admin', $p; "
        "$s = New-PSSession -ConfigurationName Microsoft.Exchange -ConnectionUri 'http://%s/PowerShell/' "
        "-Authentication Kerberos -Credential $cred; "
        "$null = Import-PSSession -Session $s -CommandName Get-MailboxDatabaseCopyStatus -DisableNameChecking -AllowClobber; "
        % fqdn
    )


def free_base_port(count):
    """A run of `count` consecutive free loopback ports."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + count >= 65535:
            continue
        ok = True
        for p in range(base, base + count):
            with socket.socket() as t:
                try:
                    t.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free run of loopback ports")


class LabServe:
    """`cu-roll lab serve` in a temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cu-roll-pywinrm-")
        with open(os.path.join(REPO, "plans", "lab-winrm.toml"), encoding="utf-8") as f:
            text = f.read()
        text = re.sub(r"(?m)^base_port = \d+", "base_port = %d" % free_base_port(3), text)
        self.plan = os.path.join(self.dir, "lab-winrm.toml")
        with open(self.plan, "w", encoding="utf-8") as f:
            f.write(text)
        self.proc = subprocess.Popen(
            [BIN, "lab", "serve", self.plan],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.urls = {}
        deadline = time.time() + 30
        while len(self.urls) < 3 and time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            parts = line.split()
            if len(parts) == 2 and parts[1].startswith("http"):
                self.urls[parts[0]] = parts[1]
        if len(self.urls) < 3:
            self.stop()
            raise RuntimeError("lab serve did not print its URLs: %s" % self.proc.stderr.read())

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class PyWinRmAgainstTheLab(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = LabServe()

    @classmethod
    def tearDownClass(cls):
        cls.lab.stop()

    def session(self, name, transport, password=PASSWORD):
        return winrm.Session(self.lab.urls[name], auth=(USER, password), transport=transport)

    def test_basic_run_cmd_hostname(self):
        r = self.session("EX02", "basic").run_cmd("hostname")
        self.assertEqual(r.status_code, 0, r.std_err)
        self.assertEqual(r.std_out.decode().strip(), "EX02")

    def test_basic_run_ps_copy_status(self):
        r = self.session("EX01", "basic").run_ps(
            exchange_session("ex01.contoso.local")
            + "Get-MailboxDatabaseCopyStatus -Server EX01 | ConvertTo-Json"
        )
        self.assertEqual(r.status_code, 0, r.std_err)
        copies = json.loads(r.std_out.decode())
        names = sorted(c["Name"] for c in copies)
        # EX01 holds a copy of every lab database.
        self.assertEqual(names, ["DB01\\EX01", "DB02\\EX01", "DB03\\EX01", "DB04\\EX01"])

    def test_basic_run_ps_error_is_readable(self):
        r = self.session("EX03", "basic").run_ps("Get-NoSuchThing")
        self.assertEqual(r.status_code, 1)
        err = r.std_err.decode()
        self.assertIn("Get-NoSuchThing", err)
        self.assertNotIn("CLIXML", err)

    def test_basic_wrong_password(self):
        with self.assertRaises(InvalidCredentialsError):
            self.session("EX01", "basic", password="wrong").run_cmd("hostname")

    def test_ntlm_sealed_run_cmd_and_run_ps(self):
        # Over HTTP pywinrm seals every message (message_encryption="auto").
        s = self.session("EX03", "ntlm")
        r = s.run_cmd("hostname")
        self.assertEqual((r.status_code, r.std_out.decode().strip()), (0, "EX03"))
        self.assertIsNotNone(s.protocol.transport.encryption, "pywinrm did not seal")
        r = s.run_ps(
            exchange_session("ex03.contoso.local")
            + "Get-MailboxDatabaseCopyStatus -Server EX03 | ConvertTo-Json"
        )
        self.assertEqual(r.status_code, 0, r.std_err)
        names = sorted(c["Name"] for c in json.loads(r.std_out.decode()))
        self.assertEqual(names, ["DB01\\EX03", "DB02\\EX03", "DB03\\EX03", "DB04\\EX03"])

    def run_with_stdin(self, name, args, chunks):
        """Command, one Send per chunk (the last with End), Receive until done."""
        p = self.session(name, "basic").protocol
        shell = p.open_shell()
        try:
            cmd = p.run_command(shell, "powershell.exe", args)
            for i, chunk in enumerate(chunks):
                p.send_command_input(shell, cmd, chunk, end=i == len(chunks) - 1)
            out, err, code = p.get_command_output(shell, cmd)
            p.cleanup_command(shell, cmd)
        finally:
            p.close_shell(shell)
        return out.decode(), err.decode(), code

    def test_a_stdin_bootstrap_of_our_own_gets_the_sent_input(self):
        # Not cu-roll's bootstrap: any script reading [Console]::In gets
        # what the Send messages carried, until the end of input.
        boot = "$t = [System.Console]::In.ReadToEnd() | Out-String\n& ([ScriptBlock]::Create($t))"
        encoded = base64.b64encode(boot.encode("utf-16-le")).decode("ascii")
        out, err, code = self.run_with_stdin(
            "EX02",
            ["-NoProfile", "-NonInteractive", "-EncodedCommand", encoded],
            [b"$x = 40 + 2\r\n", b"\"answer $x\"\r\n"],
        )
        self.assertEqual((code, out.strip()), (0, "answer 42"), err)

    def test_command_dash_runs_the_script_on_stdin(self):
        out, err, code = self.run_with_stdin("EX01", ["-NoProfile", "-Command", "-"], [b"'a' + 'b'\r\n"])
        self.assertEqual((code, out.strip()), (0, "ab"), err)

    def test_ntlm_wrong_password(self):
        with self.assertRaises(InvalidCredentialsError):
            self.session("EX02", "ntlm", password="wrong").run_cmd("hostname")


if __name__ == "__main__":
    # Ends with a plain "N passed, N failed" line that CI reads, and fails
    # the process when any test failed or none ran.
    result = unittest.main(verbosity=2, exit=False).result
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    print("pywinrm: %d passed, %d failed, %d skipped" % (result.testsRun - failed - skipped, failed, skipped))
    sys.exit(1 if failed or result.testsRun == 0 else 0)
