"""personadb against DuckDB on the same analytic queries, side by side in one run.

    python benches/analytic.py --binary target/release/personadb [--db DIR] [--rows 1000000]
        [--runs 5] [--out results.json] [--serve [--cache-mb MB]] [--interleave]

1. Makes the table `personas` in DIR (`generate --narrator none -n ROWS --seed 1`) unless it
   is there with ROWS rows, and exports it to DIR/../personas.parquet with personadb's COPY.
2. Runs each query of benches/analytic_queries.sql RUNS times in the personadb CLI
   (`sql -o csv`) and in DuckDB (Python, `read_parquet` of the export), and takes medians. The
   CLI's start-up (the median of `SELECT 1`) is subtracted from its times.
   With --serve, the queries go instead to one `personadb serve` over psycopg (a long-lived
   session with its decoded-column cache): each query runs once to warm it, then RUNS times.
   Each engine's runs of a query go in a block (DuckDB after one warming run);
   --interleave alternates them instead.
3. Checks that both give the same rows (numbers within 1e-9 relative), and prints a Markdown
   table of the medians and the ratio personadb / DuckDB, with the median ratio.
"""

import argparse
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import time

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))


def queries():
    out = []
    with open(os.path.join(HERE, "analytic_queries.sql")) as f:
        for line in f:
            line = line.strip()
            if line.startswith("-- ") and ": " in line and not line.startswith("-- The") and line[3:].split(":")[0].isidentifier():
                name, sql = line[3:].split(": ", 1)
                out.append((name, sql))
    return out


def cli(binary, db, sql, fmt="csv"):
    start = time.perf_counter()
    done = subprocess.run([binary, "--db", db, "sql", "-o", fmt, sql], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"personadb failed on {sql!r}: {done.stderr.strip()}")
    return elapsed, done.stdout


class Server:
    """`personadb serve` on a free port, with one psycopg connection."""

    def __init__(self, binary, db, cache_mb):
        import psycopg

        args = [binary, "--db", db, "serve", "--port", "0"]
        if cache_mb is not None:
            args += ["--cache-mb", str(cache_mb)]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        port = int(line.strip().rsplit(":", 1)[1])
        self.conn = psycopg.connect(host="127.0.0.1", port=port, user="personadb", dbname="personadb",
                                    autocommit=True)

    def query(self, sql):
        start = time.perf_counter()
        with self.conn.cursor() as cur:
            cur.execute(sql)
            rows = cur.fetchall()
        return time.perf_counter() - start, [[str(v) for v in r] for r in rows]

    def close(self):
        self.conn.close()
        self.proc.terminate()
        self.proc.wait()


def rows_of_csv(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[1:] if rows else []


def same(a, b):
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b):
        if len(ra) != len(rb):
            return False
        for x, y in zip(ra, rb):
            x, y = str(x), str(y)
            if x == y:
                continue
            try:
                fx, fy = float(x), float(y)
            except ValueError:
                return False
            if abs(fx - fy) > 1e-9 * max(1.0, abs(fx), abs(fy)):
                return False
    return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--db", default=os.path.expanduser("~/.cache/personadb/bench-analytic/db"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out")
    parser.add_argument("--serve", action="store_true", help="query through personadb serve (warm)")
    parser.add_argument("--cache-mb", type=int, help="serve's --cache-mb (default: serve's default)")
    parser.add_argument("--interleave", action="store_true",
                        help="alternate personadb and DuckDB runs (default: each engine's runs in a block)")
    args = parser.parse_args()
    db = args.db
    parquet = os.path.join(os.path.dirname(db), "personas.parquet")

    _, count = cli(args.binary, db, "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'personas'")
    have = int(rows_of_csv(count)[0][0]) > 0
    if have:
        have = int(rows_of_csv(cli(args.binary, db, "SELECT count(*) FROM personas")[1])[0][0]) == args.rows
    if not have:
        subprocess.run([args.binary, "--db", db, "sql", "DROP TABLE IF EXISTS personas"], check=True)
        t = time.perf_counter()
        subprocess.run([args.binary, "--db", db, "generate", "--narrator", "none", "-n", str(args.rows), "--seed", "1"],
                       check=True, capture_output=True)
        print(f"generated {args.rows} personas in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        if os.path.exists(parquet):
            os.remove(parquet)
    if not os.path.exists(parquet):
        cli(args.binary, db, f"COPY (SELECT * FROM personas) TO '{parquet}' STORED AS PARQUET")

    con = duckdb.connect()
    con.execute(f"CREATE VIEW personas AS SELECT * FROM read_parquet('{parquet}')")
    server = Server(args.binary, db, args.cache_mb) if args.serve else None
    if server:
        startup = 0.0
        first = {name: server.query(sql)[0] for name, sql in queries()}
    else:
        startup = statistics.median(cli(args.binary, db, "SELECT 1")[0] for _ in range(max(5, args.runs)))

    results = []
    for name, sql in queries():
        ours, theirs = [], []
        our_rows = their_rows = None
        def ours_once():
            nonlocal our_rows
            if server:
                elapsed, our_rows = server.query(sql)
                ours.append(elapsed)
            else:
                elapsed, text = cli(args.binary, db, sql)
                ours.append(max(elapsed - startup, 0.0))
                our_rows = rows_of_csv(text)

        def theirs_once():
            nonlocal their_rows
            t = time.perf_counter()
            their_rows = con.execute(sql).fetchall()
            theirs.append(time.perf_counter() - t)

        if args.interleave:
            for _ in range(args.runs):
                ours_once()
                theirs_once()
        else:
            # Each engine's runs back to back, so neither runs in the wake of the other's
            # threads and caches (on 2 cores, interleaving slowed the server's short queries
            # by up to 70 %); DuckDB gets one unmeasured warming run as the server does.
            for _ in range(args.runs):
                ours_once()
            con.execute(sql).fetchall()
            for _ in range(args.runs):
                theirs_once()
        equal = same(our_rows, their_rows)
        ours_ms, theirs_ms = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
        results.append({"query": name, "personadb_ms": round(ours_ms, 1), "duckdb_ms": round(theirs_ms, 1),
                        "ratio": round(ours_ms / theirs_ms, 2) if theirs_ms else None, "same_rows": equal})
        if server:
            results[-1]["first_ms"] = round(first[name] * 1000, 1)
        if not equal:
            print(f"{name}: results differ\n ours: {our_rows[:3]}\n duckdb: {their_rows[:3]}", file=sys.stderr)

    if server:
        server.close()
    ratios = [r["ratio"] for r in results if r["ratio"] is not None]
    summary = {"rows": args.rows, "runs": args.runs, "serve": args.serve, "startup_ms": round(startup * 1000, 1),
               "median_ratio": round(statistics.median(ratios), 2), "all_equal": all(r["same_rows"] for r in results),
               "queries": results}
    if server:
        print("through personadb serve (psycopg), after one warming run of each query\n")
        print("| query | first run ms | personadb ms | DuckDB ms | ratio | same rows |")
        print("| --- | --- | --- | --- | --- | --- |")
    else:
        print(f"CLI start-up (SELECT 1): {summary['startup_ms']} ms, subtracted\n")
        print("| query | personadb ms | DuckDB ms | ratio | same rows |")
        print("| --- | --- | --- | --- | --- |")
    for r in results:
        first = f"{r['first_ms']} | " if server else ""
        print(f"| {r['query']} | {first}{r['personadb_ms']} | {r['duckdb_ms']} | {r['ratio']} | {'yes' if r['same_rows'] else 'NO'} |")
    print(f"\nmedian ratio personadb / DuckDB: {summary['median_ratio']}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(summary, f, indent=2)
    if not summary["all_equal"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
