"""Where the course's folders are (introduced in 01_minimax_game)."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
NOTEBOOKS_DIR = REPO_DIR / "notebooks"
DATA_DIR = Path(os.environ.get("COURSE_DATA_DIR", REPO_DIR / "data"))
BUILD_DIR = REPO_DIR / "build"
