"""The `cabin` command line: `app` holds main, the output and the exit codes; one module per
command group."""
