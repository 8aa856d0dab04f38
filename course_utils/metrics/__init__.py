"""The course's yardsticks for generated samples.

Two kinds, one module each, sharing :func:`kl_to_uniform`:

* :mod:`course_utils.metrics.images`: generated digits measured through the
  course's digit classifier (introduced in 06_dcgan). Its functions are also
  available here directly: ``metrics.evaluate_images``,
  ``metrics.frechet_distance``, ...
* :mod:`course_utils.metrics.points`: point clouds against a mixture of
  Gaussian modes (nearest mode, high-quality share, modes captured, KL of the
  mode histogram, Wasserstein-1), as ``metrics.points``.
"""

from course_utils.metrics import images, points
from course_utils.metrics._common import kl_to_uniform
from course_utils.metrics.images import *  # noqa: F401,F403
from course_utils.metrics.images import __all__ as _image_names

__all__ = ["images", "points", "kl_to_uniform", *_image_names]
