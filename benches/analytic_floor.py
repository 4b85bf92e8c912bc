"""Where the analytic gap lies: the same queries in DataFusion (Python bindings) on data that
is already decoded in memory, on the parquet export, and in DuckDB on the same export.

    pip install datafusion            # optional; not part of ./setup.sh
    python benches/analytic_floor.py [--parquet PATH] [--runs 5] [--partitions 2]
        [--strings utf8|view|dict]

Run benches/analytic.py first: it writes the parquet export of the 1M-persona table this reads
(default ~/.cache/personadb/bench-analytic/personas.parquet). In-process, warm, medians of RUNS.
DataFusion on in-memory Arrow is the floor of what personadb's engine can do once the column
data is decoded; the difference between that and personadb's own times (benches/analytic.py)
is the storage read. Results are checked equal to DuckDB's. --strings sets how the in-memory
table holds text: `utf8` (as pyarrow reads it), `view` (Utf8View, as personadb's SQL reads its
tables) or `dict` (dictionary-encoded where a column has at most 5,000 distinct values).
"""

import argparse
import os
import statistics
import sys
import time

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from analytic import queries, same  # noqa: E402

try:
    import datafusion
except ImportError:
    sys.exit("this benchmark needs the `datafusion` Python package: pip install datafusion")


def timed(f, runs):
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = f()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), result


def strings(table, form):
    """`table` with its text columns held as `form` (utf8, view or dict)."""
    if form == "utf8":
        return table
    columns = []
    for field in table.schema:
        column = table[field.name]
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            if form == "view":
                column = column.cast(pa.string_view())
            elif pc.count_distinct(column).as_py() <= 5000:
                column = column.dictionary_encode()
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def rows(batches):
    out = []
    for b in batches:
        cols = [c.to_pylist() for c in b.columns]
        out.extend(zip(*cols))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--parquet", default=os.path.expanduser("~/.cache/personadb/bench-analytic/personas.parquet"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--partitions", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--strings", choices=["utf8", "view", "dict"], default="utf8")
    args = parser.parse_args()
    if not os.path.exists(args.parquet):
        sys.exit(f"{args.parquet} does not exist: run benches/analytic.py first")

    config = datafusion.SessionConfig().with_target_partitions(args.partitions)
    table = strings(pq.read_table(args.parquet), args.strings)
    memory = datafusion.SessionContext(config)
    step = -(-table.num_rows // args.partitions)
    memory.register_record_batches(
        "personas", [table.slice(i, step).to_batches() for i in range(0, table.num_rows, step)])
    parquet = datafusion.SessionContext(config)
    parquet.register_parquet("personas", args.parquet)
    duck = duckdb.connect()
    duck.execute(f"CREATE VIEW personas AS SELECT * FROM read_parquet('{args.parquet}')")

    print(f"DataFusion {datafusion.__version__}, {args.partitions} partitions, text as {args.strings}; DuckDB {duckdb.__version__}; "
          f"{table.num_rows} rows, {args.runs} runs\n")
    print("| query | DataFusion, in memory ms | DataFusion, parquet ms | DuckDB, parquet ms | memory / DuckDB | parquet / DuckDB | same rows |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    mem_ratios, pq_ratios, all_equal = [], [], True
    for name, sql in queries():
        m, m_rows = timed(lambda: memory.sql(sql).collect(), args.runs)
        p, _ = timed(lambda: parquet.sql(sql).collect(), args.runs)
        d, d_rows = timed(lambda: duck.execute(sql).fetchall(), args.runs)
        equal = same(rows(m_rows), d_rows)
        all_equal &= equal
        mem_ratios.append(m / d)
        pq_ratios.append(p / d)
        print(f"| {name} | {m:.1f} | {p:.1f} | {d:.1f} | {m / d:.2f} | {p / d:.2f} | {'yes' if equal else 'NO'} |")
    print(f"\nmedian ratio to DuckDB: in memory {statistics.median(mem_ratios):.2f}, "
          f"parquet {statistics.median(pq_ratios):.2f}")
    if not all_equal:
        sys.exit(1)


if __name__ == "__main__":
    main()
