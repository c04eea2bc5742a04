"""Shared code of the executable book "Distillation Scaling Laws, reproduced".

Modules: ``laws`` (the supervised and distillation laws), ``flops`` (compute accounting,
scenarios, the cost model), ``fit`` (laws as specifications and the grid + L-BFGS-B
fitter), ``minimise`` (the batched 1-D minimiser), ``recipes`` (compute-optimal recipes
under a ``Setting``, ``decide``, the break-even number of students, the recipe for a given
teacher), ``many_students`` (tables and the abstract's claim for a teacher shared by n
students), ``replication`` (the project's own run tables: seed
noise, fits, claims), ``paper_runs`` (the paper's own Fig. 1 runs: checks, refits,
conclusions), ``stored`` (the fits stored in ``data/fits``), ``paper_figures`` (the
paper's figures on their own axes), ``objective`` (the distillation loss, Eqs. 4-7),
``capacity_gap`` (App. C's experiments), ``paper_map`` (the paper's figures and tables
mapped to the book), ``data`` (the public tables of other people's runs), ``designs``
(synthetic run designs), ``plots`` (the figure style), ``glue`` (numbers for the prose),
``cli`` (``python -m analysis``) and ``toc`` (the table of contents).
"""

__version__ = "0.1.0"
