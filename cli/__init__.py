"""The ``metalink-dgl`` command group (click). One module per subcommand; no training loop here."""
