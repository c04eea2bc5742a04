"""Shared code of the executable book "Distillation Scaling Laws, reproduced".

Modules: ``laws`` (the supervised and distillation laws), ``flops`` (compute accounting,
scenarios, the cost model), ``fit`` (laws as specifications and the grid + L-BFGS-B
fitter), ``minimise`` (the batched 1-D minimiser), ``recipes`` (compute-optimal recipes
under a ``Setting`` and ``decide``), ``replication`` (the project's own run tables: seed
noise, fits, claims), ``stored`` (the fits stored in ``data/fits``), ``data`` (the public
tables of other people's runs), ``designs`` (synthetic run designs), ``plots`` (the
figure style), ``glue`` (numbers for the prose), ``cli`` (``python -m analysis``) and
``toc`` (the table of contents).
"""

__version__ = "0.1.0"
