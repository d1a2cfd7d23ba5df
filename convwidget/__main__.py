"""``python -m convwidget``: see :mod:`convwidget.cli`."""

import sys

from .cli import main

sys.exit(main())
