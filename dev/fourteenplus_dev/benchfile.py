"""The results files in bench/: a block the benchmark writes between two markers, and the
prose around it, which people write and every run keeps; and the machine a run names."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path


def write_block(path: Path, marker: str, body: str, title: str) -> None:
    """Put `body` between `<!-- marker:begin -->` and `<!-- marker:end -->` in the file,
    replacing what was there; a new file gets `title` as its heading."""
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    text = path.read_text() if path.exists() else f"# {title}\n\n{begin}\n{end}\n"
    if begin not in text:
        text += f"\n{begin}\n{end}\n"
    block = f"{begin}\n{body}\n{end}"
    path.write_text(re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S))


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"
