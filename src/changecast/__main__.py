"""``python -m changecast`` runs the CLI."""

from changecast.cli.main import main

main()
