"""Shared package of the GAN course.

Notebooks import the submodules they need explicitly, for example::

    from course_utils import losses, train, plotting, checks, record

Importing the package itself is cheap and has no side effects: nothing is seeded,
downloaded or configured until a function is called.
"""

from course_utils.recording import claim, record

__all__ = ["claim", "record"]
__version__ = "0.1.0"
