"""Where the course's folders are (introduced in 01_minimax_game).

The package runs in two settings:

* from a clone of the repository (``make setup`` installs it in editable mode):
  ``REPO_DIR`` is the clone, with ``notebooks/``, ``data/`` and ``build/``;
* installed from its wheel (a student's kit, ``pip install``, Colab): the data
  files travel inside the package, as ``course_utils/bundled``, and the folder
  the course was started from takes the place of the clone (its ``notebooks/``
  if it has one, else the folder itself, as in a kit).

``DATA_DIR`` is, first found: ``$COURSE_DATA_DIR``; the data installed with the
package (found through ``importlib.resources``); the clone's ``data/``.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _is_clone(folder: Path) -> bool:
    return (folder / "pyproject.toml").is_file() and (folder / "data").is_dir()


def bundled_data_dir() -> Path | None:
    """The data folder installed with the package, or None (a clone's editable
    install has none: its data stay in the repository's ``data/``)."""
    try:
        folder = resources.files("course_utils").joinpath("bundled")
    except (ModuleNotFoundError, TypeError):
        return None
    if isinstance(folder, Path) and folder.is_dir():
        return folder
    return None


IN_CLONE = _is_clone(PACKAGE_DIR.parent)
REPO_DIR = PACKAGE_DIR.parent if IN_CLONE else Path.cwd()
# A student kit keeps its notebooks next to its README, not in notebooks/.
NOTEBOOKS_DIR = (REPO_DIR / "notebooks"
                 if IN_CLONE or (REPO_DIR / "notebooks").is_dir() else REPO_DIR)
BUNDLED_DATA_DIR = bundled_data_dir()
DATA_DIR = Path(
    os.environ.get("COURSE_DATA_DIR")
    or BUNDLED_DATA_DIR
    or PACKAGE_DIR.parent / "data"
)
BUILD_DIR = REPO_DIR / "build"
