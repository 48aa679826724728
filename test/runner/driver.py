"""A DuckDB host for the sqllogictest runner: executes SQL with Python DuckDB.

Protocol: one JSON request per line on stdin, {"sql": "..."}; one JSON answer
per line on stdout: {"rows": [[str|null, ...], ...]} for a SELECT,
{"count": n} for any other statement, or {"error": "..."}.

Values are rendered by DuckDB itself (CAST(... AS VARCHAR)), so every host
version prints results identically and tests compare DuckDB's own text.
"""

import json
import sys

import duckdb


def main() -> None:
    # No progress bar: DuckDB prints it to stdout during long statements,
    # which would break the one-answer-per-line protocol.
    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    con.execute("SET enable_progress_bar = false")
    out = sys.stdout
    out.write(json.dumps({"version": duckdb.__version__}) + "\n")
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = run(con, request["sql"])
        except duckdb.Error as e:
            answer = {"error": str(e)}
        out.write(json.dumps(answer) + "\n")
        out.flush()


def run(con: "duckdb.DuckDBPyConnection", sql: str) -> dict:
    statements = duckdb.extract_statements(sql)
    if len(statements) == 1 and statements[0].type == duckdb.StatementType.SELECT:
        body = sql.strip().rstrip(";")
        rows = con.execute(f"SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (\n{body}\n)").fetchall()
        return {"rows": [list(r) for r in rows]}
    con.execute(sql)
    return {"count": 0}


if __name__ == "__main__":
    main()
