"""Settings of the unit tests' own process.

The tests draw figures off-screen: they choose matplotlib's Agg backend here, since
``analysis.plots`` leaves the backend alone (a Jupyter kernel keeps its inline one).
"""

import matplotlib

matplotlib.use("Agg")
