"""``python -m spftrace.fleet summary|compare DATASET``: the same as ``spftrace fleet``."""

from .cli import app

if __name__ == "__main__":  # pragma: no cover
    app(prog_name="python -m spftrace.fleet")
