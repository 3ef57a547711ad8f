"""How long a config error takes to come back: ``unlearn-audit config validate`` on a misspelt key.

The file's own problems (unknown keys, wrong types, unknown method and attack names) are found
without importing torch or any plugin (``auditor.config.checks``), so a typo costs the interpreter's
start, click, pydantic and PyYAML, not torch, SciPy and every attack. Each case runs the console
script ``--repeat`` times in fresh processes and prints the median CPU time (user + system of the
child, which a loaded machine inflates less than wall time) and wall time, and which heavy modules
the process imported.

Cases: ``examples/digits.yaml`` with ``epochs`` misspelt (a full config, with method params and
attacks), and a two-line file with ``data.datset``. For comparison, a valid config
(``examples/digits.yaml`` as it is), which imports the plugins to check their parameters.

Usage: ``python benchmarks/bench_config_error.py [--repeat 5]``
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROBE = (
    "import sys, runpy; sys.argv = ['unlearn-audit', 'config', 'validate', {path!r}]\n"
    "try:\n    from auditor.cli.commands import main; main()\n"
    "except SystemExit as exc:\n"
    "    heavy = sorted(m for m in ('torch', 'numpy', 'scipy', 'attacks', 'unlearners') if m in sys.modules)\n"
    "    sys.stderr.write('IMPORTED ' + ','.join(heavy) + '\\n'); raise\n"
)


def run(path: Path) -> tuple[float, float, int, str]:
    """(CPU seconds, wall seconds, exit code, heavy modules imported) of one validation in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(path=str(path))],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    heavy = next((line[9:] for line in done.stderr.splitlines() if line.startswith("IMPORTED ")), "?")
    return cpu, wall, done.returncode, heavy or "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        typo = Path(tmp) / "typo.yaml"
        typo.write_text(
            (REPO / "examples" / "digits.yaml").read_text().replace("  epochs: 30", "  epoch: 30")
        )
        tiny = Path(tmp) / "tiny.yaml"
        tiny.write_text("data:\n  datset: digits\n")
        cases = [
            ("digits.yaml, 'epochs' misspelt", typo),
            ("two lines, 'dataset' misspelt", tiny),
            ("digits.yaml, valid (plugins checked)", REPO / "examples" / "digits.yaml"),
        ]
        print(f"{'case':<40} {'exit':>4} {'CPU s':>7} {'wall s':>7}  imported")
        for name, path in cases:
            runs = [run(path) for _ in range(args.repeat)]
            cpu = statistics.median(r[0] for r in runs)
            wall = statistics.median(r[1] for r in runs)
            print(f"{name:<40} {runs[0][2]:>4} {cpu:>7.2f} {wall:>7.2f}  {runs[0][3]}")


if __name__ == "__main__":
    main()
