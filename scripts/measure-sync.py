#!/usr/bin/env python3
"""Measures playback sync before and after, side by side (the figures of docs/SYNC.md).

Runs tests/browser/sync.test.mjs in measure-only mode (TANDEM_SYNC_MEASURE=1: the same
scenario, nothing asserted) against each given server build, in three network settings:
B through the 150 ms ± 20 ms proxy with its clock +3 s and -3 s off, and B direct with its
clock right. Each build serves its own /demo, so "before" measures the old demo on the old
server. Prints one Markdown table, |A - B| in ms as max / median per phase.

  scripts/measure-sync.py --build before=/tmp/sync-before/build/tandem-server \\
                          --build after=build/tandem-server
"""
import argparse
import json
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
TEST = ROOT / 'tests' / 'browser' / 'sync.test.mjs'
SETTINGS = [('+3 s, 150 ms', 3000, 150), ('-3 s, 150 ms', -3000, 150), ('0 s, direct', 0, 0)]
PHASES = [('play', '2 s after play'), ('seek', '2 s after a +10 s seek'),
          ('stall', '2 s after a 1 s stall'), ('steady', '20 s steady')]
FIGURES = re.compile(r'^# figures \(skew -?\d+ ms\): (\{.*\})$', re.M)


def measure(server, skew_ms, latency_ms):
    env = dict(os.environ, TANDEM_SERVER=str(server), TANDEM_SYNC_MEASURE='1',
               TANDEM_SYNC_SKEW_MS=str(skew_ms), TANDEM_SYNC_LATENCY_MS=str(latency_ms),
               TANDEM_BROWSER_TESTS_REQUIRED='1')
    run = subprocess.run(['node', str(TEST)], cwd=TEST.parent, env=env, text=True,
                         capture_output=True, timeout=600, check=False)
    found = FIGURES.search(run.stdout)
    if not found:
        sys.exit(f'no figures from {server} (skew {skew_ms}, latency {latency_ms}):\n'
                 f'{run.stdout[-3000:]}\n{run.stderr[-3000:]}')
    return json.loads(found.group(1))


def cell(figures, phase):
    f = figures.get(phase)
    return f'{f["maxMs"]:.1f} / {f["medianMs"]:.1f}' if f else 'n/a'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--build', action='append', required=True, metavar='LABEL=SERVER',
                        help='a label and a tandem-server binary; give one per build')
    args = parser.parse_args()
    builds = [b.split('=', 1) for b in args.build]
    results = {}
    for label, server in builds:
        for setting, skew, latency in SETTINGS:
            print(f'measuring {label}, {setting}', file=sys.stderr)
            results[(label, setting)] = measure(pathlib.Path(server).resolve(), skew, latency)
    columns = [(label, setting) for setting, _, _ in SETTINGS for label, _ in builds]
    print('| phase | ' + ' | '.join(f'{label}, {setting}' for label, setting in columns) + ' |')
    print('| --- ' * (len(columns) + 1) + '|')
    for phase, title in PHASES:
        print(f'| {title} | ' + ' | '.join(cell(results[c], phase) for c in columns) + ' |')
    for column in columns:
        steady = results[column].get('steady', {})
        if steady.get('serverMeanMs') is not None:   # null (NaN) without the metric
            print(f'\n{column[0]}, {column[1]}: server mean spread '
                  f'{steady["serverMeanMs"]:.1f} ms over {steady["serverObservations"]}, '
                  f'test mean {steady["meanMs"]:.1f} ms ± {steady["samplingErrorMs"]:.1f} ms')


if __name__ == '__main__':
    main()
