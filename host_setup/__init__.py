"""host_setup: the only part of rootlesskube that runs as root.

`plan` turns the doctor's checks that do not pass (fail or warn) into actions (files with
their new content, commands, what follows: re-login or reboot); `apply`
carries them out idempotently, editing system files atomically (atomic.py);
`lab` prepares a workshop host for many users. Small enough to audit.
"""
