"""One module per `treadle-runtime` command; each exposes `run(args, comm, outputs)`."""
