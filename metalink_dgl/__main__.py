"""``python -m metalink_dgl ...``: the ``metalink-dgl`` command (the entry point torchrun launches)."""

from cli.main import main

if __name__ == "__main__":
    main()
