#!/usr/bin/env python3
"""Rewrites the option table of docs/CONFIG.md from `tandem-server --config-schema`.

Usage: scripts/gen-config-doc.py build/tandem-server
The table sits between the markers <!-- options:begin --> and <!-- options:end -->; a unit
test (Config.DocumentationListsEveryOption) fails when an option is missing from it.
"""
import json
import pathlib
import subprocess
import sys

binary = sys.argv[1]
schema = json.loads(subprocess.run([binary, "--config-schema"], check=True,
                                   capture_output=True, text=True).stdout)
rows = ["| variable | flag | default | meaning |", "| --- | --- | --- | --- |"]
for o in schema:
    default = o["default"] or "(unset)"
    rows.append(f"| `{o['env']}` | `{o['flag']}` | {default} | {o['help']} |")
doc = pathlib.Path(__file__).resolve().parent.parent / "docs" / "CONFIG.md"
text = doc.read_text()
begin, end = "<!-- options:begin -->", "<!-- options:end -->"
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
doc.write_text(head + begin + "\n" + "\n".join(rows) + "\n" + end + tail)
