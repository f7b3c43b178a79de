"""The eap-state demo: an audience-research run with simulated paid agents on Ray.

``python -m shell.demo`` (or the ``eap-state-demo`` console script) plans two
rounds of agent jobs, reserves budget for each, runs them as Ray tasks,
collects their status and costs in batches, and reports what it spent and
how many Ray operations the state layer used. See ``--help``.
"""

from shell.demo.cli import main

__all__ = ["main"]
