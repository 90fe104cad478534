"""``python -m zspace`` (and ``torchrun -m zspace``) runs the command-line interface."""

from zspace.cli.main import run

if __name__ == "__main__":
    run()
