#!/usr/bin/env python3
"""Every flag a synmap binary lists in its --help is written in the docs, and every --flag
written in the docs is a flag of some synmap binary or of a tool on the allow-list below.

Usage: flags_documented_test.py SOURCE_DIR SYNMAP SYNMAP_COLLECTOR SYNMAP_SENSOR
The docs are SOURCE_DIR/README.md and SOURCE_DIR/docs/*.md. The synmap commands are read from
`synmap --help`, so a new command is checked without editing this test.
"""

import glob
import os
import re
import subprocess
import sys

# Flags of other tools (and of the repository's own scripts) that the docs may write. A
# repository script's entry is checked against the script's text, so a removed option fails.
ALLOWED = {
    "--build": "cmake",  # cmake --build build --target package
    "--target": "cmake",
    "--output-on-failure": "ctest",
    "--test-dir": "ctest",
    "--now": "systemctl",  # systemctl enable --now
    "--noflush": "iptables-restore",  # loading `synmap export --format iptables`
    "--data-binary": "curl",  # the webhook example of --on-new-service
    "--quick": "deploy/run-tests.sh",
    "--repeat": "deploy/run-tests.sh",
    "--only-threaded": "deploy/run-tests.sh",
    "--live": "deploy/quickstart.sh",
    "--san": "deploy/make-certs.sh",
    "--build-dir": "tests/reliability/faults/lib.sh",  # the fault scenarios' options
    "--keep": "tests/reliability/faults/lib.sh",
}

# A --flag token: not preceded by a word character or '-', ends before '=', space, etc.
FLAG_TOKEN = re.compile(r"(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
# A line of a help's flag list: indented, starting with the flag.
HELP_FLAG_LINE = re.compile(r"^\s+(--[a-z][a-z0-9]*(?:-[a-z0-9]+)*)")


def run_help(argv):
    out = subprocess.run(argv + ["--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, timeout=30, check=False)
    if out.returncode != 0:
        sys.exit(f"FAIL: {' '.join(argv)} --help exited {out.returncode}:\n{out.stdout}")
    return out.stdout


def synmap_commands(top_help):
    commands, in_list = [], False
    for line in top_help.splitlines():
        if line.strip() == "commands:":
            in_list = True
        elif in_list and line.startswith("  ") and line.strip():
            commands.append(line.split()[0])
        elif in_list:
            break
    return commands


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    source_dir, synmap, collector, sensor = sys.argv[1:]

    # flag -> the binaries and commands whose --help lists it.
    help_flags = {}
    top_help = run_help([synmap])
    commands = synmap_commands(top_help)
    if not commands:
        sys.exit("FAIL: no commands found in `synmap --help`")
    helps = {"synmap": top_help}
    for c in commands:
        helps[f"synmap {c}"] = run_help([synmap, c])
    helps["synmap-collector"] = run_help([collector])
    helps["synmap-sensor"] = run_help([sensor])
    for who, text in helps.items():
        for line in text.splitlines():
            m = HELP_FLAG_LINE.match(line)
            if m:
                help_flags.setdefault(m.group(1), []).append(who)
    # --version is handled before the flag lists (synmap --version).
    help_flags.setdefault("--version", []).append("synmap")

    docs = [os.path.join(source_dir, "README.md")]
    docs += sorted(glob.glob(os.path.join(source_dir, "docs", "*.md")))
    doc_flags = {}  # flag -> "file:line" of its first mention.
    for path in docs:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                for token in FLAG_TOKEN.findall(line):
                    doc_flags.setdefault(token, f"{os.path.relpath(path, source_dir)}:{n}")

    failures = []
    for flag in sorted(help_flags):
        if flag not in doc_flags:
            failures.append(f"{flag} (from --help of {', '.join(sorted(set(help_flags[flag])))})"
                            " is not written in README.md or docs/*.md")
    for flag in sorted(doc_flags):
        if flag in help_flags:
            continue
        owner = ALLOWED.get(flag)
        if owner is None:
            failures.append(f"{flag} ({doc_flags[flag]}) is no flag of synmap, synmap-collector"
                            " or synmap-sensor, nor on this test's allow-list")
            continue
        script = os.path.join(source_dir, owner)
        if "/" in owner:
            with open(script, encoding="utf-8") as f:
                if flag not in f.read():
                    failures.append(f"{flag} ({doc_flags[flag]}) is allowed as an option of "
                                    f"{owner}, which no longer has it")
    for flag, owner in sorted(ALLOWED.items()):
        if flag in help_flags:
            failures.append(f"{flag} is allowed as {owner}'s but is a synmap flag: drop it "
                            "from the allow-list")

    print(f"{len(help_flags)} flags in {len(helps)} --help texts ({len(commands)} synmap "
          f"commands); {len(doc_flags)} --flag tokens in {len(docs)} documents")
    if failures:
        print("FAIL:\n  " + "\n  ".join(failures))
        return 1
    print("OK: every flag documented, every documented flag exists")
    return 0


if __name__ == "__main__":
    sys.exit(main())
