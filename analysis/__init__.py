"""Shared code of the executable book "Distillation Scaling Laws, reproduced".

Modules: ``laws`` (the supervised and distillation laws), ``flops`` (compute
accounting and scenarios), ``plots`` (the book's figure style). Later modules
(fitting, recipes, data loading) build on these.
"""

__version__ = "0.1.0"
