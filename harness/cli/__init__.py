"""The `gradcheck` command line: main.py is the hub, common.py what the subcommands share."""
