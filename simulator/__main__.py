"""``python -m simulator``: the simulator's command line."""

from simulator.cli import app

app(prog_name="python -m simulator")
