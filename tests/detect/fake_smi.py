"""A fake `nvidia-smi` for end-to-end tests: writes an executable that replays recorded outputs.

The scenario directory holds what each invocation prints: `query.csv` for --query-gpu,
`list.txt` for -L, `q.xml` for -q -x; `stdout.txt` for anything (a failure message);
`exit_code` the code to exit with; `hang` makes it sleep; `reject_fields` makes the full query
fail as an old driver does, so only the minimal field set is answered.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

SCRIPT = '''#!{python}
import os, sys, time
from pathlib import Path
scenario = Path({scenario!r})
args = sys.argv[1:]
with open(scenario / "calls.log", "a") as log:
    log.write(" ".join(args) + "\\n")
if (scenario / "hang").exists():
    time.sleep(60)
def emit(name):
    path = scenario / name
    if path.exists():
        sys.stdout.write(path.read_text())
code = int((scenario / "exit_code").read_text()) if (scenario / "exit_code").exists() else 0
if any(a.startswith("--query-gpu=") for a in args):
    if (scenario / "reject_fields").exists() and "compute_cap" in " ".join(args):
        sys.stdout.write('Field "compute_cap" is not a valid field to query.\\n\\n')
        sys.exit(2)
    emit("query.csv")
elif args == ["-L"]:
    emit("list.txt")
elif args[:2] == ["-q", "-x"]:
    emit("q.xml")
emit("stdout.txt")
sys.exit(code)
'''


def install(bin_dir: Path, scenario: Path, files: dict[str, str | Path] | None = None) -> Path:
    """Write `nvidia-smi` into `bin_dir` replaying `scenario` (files copied or written there)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    scenario.mkdir(parents=True, exist_ok=True)
    for name, content in (files or {}).items():
        if isinstance(content, Path):
            shutil.copyfile(content, scenario / name)
        else:
            (scenario / name).write_text(content)
    executable = bin_dir / "nvidia-smi"
    executable.write_text(SCRIPT.format(python=sys.executable, scenario=str(scenario)))
    executable.chmod(0o755)
    return executable
