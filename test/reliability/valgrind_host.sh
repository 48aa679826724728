#!/bin/bash
# The SQL suite's DuckDB host (Python) under valgrind memcheck, for
# `make valgrind`: mallard-sqltest starts this instead of python. Each host
# process logs to $VALGRIND_LOG_DIR/vg.<pid>.log; valgrind.py sorts the
# errors by where they happen.
export PYTHONMALLOC=malloc  # let memcheck see every allocation
exec valgrind --tool=memcheck --leak-check=no --track-origins=no \
  --log-file="$VALGRIND_LOG_DIR/vg.%p.log" --suppressions=/usr/lib/valgrind/python3.supp \
  "$VALGRIND_PYTHON" "$@"
