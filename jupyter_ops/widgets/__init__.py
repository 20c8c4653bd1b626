"""ipywidgets front ends over the core (each calls the same functions as the magics).

Names are resolved lazily from the modules of this package (see :mod:`jupyter_ops._lazy`).
"""

from .._lazy import lazy_namespace

__getattr__, __dir__ = lazy_namespace(__name__, __path__)
