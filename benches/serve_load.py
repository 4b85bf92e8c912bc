"""Load test of `personadb serve` with real PostgreSQL clients (psycopg 3).

    python benches/serve_load.py --port 5432 --table people [--clients 32] [--queries 200]
        [--sample-every 5] [--password PW]

Each client opens its own connection and runs its queries one after another: reads of the
table (counts by filter, group-bys, a point lookup) and, every `--sample-every`-th query,
`sample_persona`. Prints one JSON object: queries, errors (with the first messages),
throughput and latency percentiles in milliseconds. `--simple` runs `SELECT 1` only, which
measures the wire and the session rather than the queries.
"""

import argparse
import json
import statistics
import threading
import time

import psycopg


def reads(table, i):
    queries = [
        (f"SELECT count(*) FROM {table} WHERE age > %s", (18 + i % 60,)),
        (f"SELECT sex, count(*) AS n FROM {table} GROUP BY sex ORDER BY sex", None),
        (f"SELECT state, avg(age) AS a FROM {table} WHERE sex = %s GROUP BY state ORDER BY a DESC LIMIT 3",
         ("Female" if i % 2 else "Male",)),
        (f"SELECT uuid, age FROM {table} ORDER BY uuid LIMIT 1 OFFSET %s", (i % 100,)),
    ]
    return queries[i % len(queries)]


def client(args, index, latencies, errors, lock):
    try:
        conn = psycopg.connect(host=args.host, port=args.port, user="personadb", dbname="personadb",
                               password=args.password, autocommit=True, connect_timeout=30)
    except Exception as e:  # the connection itself failed: every query counts as an error
        with lock:
            errors.extend([f"connect: {e}"] * args.queries)
        return
    mine = []
    with conn:
        for i in range(args.queries):
            if args.simple:
                sql, params = "SELECT 1", None
            elif args.sample_every and i % args.sample_every == args.sample_every - 1:
                # Table-function arguments are planned as literals, not bound parameters.
                sql, params = f"SELECT count(*) FROM sample_persona(20, 'us', {index * 1000 + i})", None
            else:
                sql, params = reads(args.table, index + i)
            start = time.perf_counter()
            try:
                with conn.cursor() as cur:
                    cur.execute(sql, params)
                    cur.fetchall()
                mine.append(time.perf_counter() - start)
            except Exception as e:
                with lock:
                    errors.append(f"{sql}: {e}".strip())
    with lock:
        latencies.extend(mine)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--table", default="personas")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--sample-every", type=int, default=5)
    parser.add_argument("--password", default=None)
    parser.add_argument("--simple", action="store_true")
    args = parser.parse_args()

    latencies, errors, lock = [], [], threading.Lock()
    threads = [threading.Thread(target=client, args=(args, i, latencies, errors, lock)) for i in range(args.clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    ms = sorted(x * 1000 for x in latencies)

    def pct(p):
        return round(ms[min(len(ms) - 1, int(p / 100 * len(ms)))], 2) if ms else None

    print(json.dumps({
        "clients": args.clients,
        "queries": args.clients * args.queries,
        "ok": len(ms),
        "errors": len(errors),
        "first_errors": errors[:3],
        "wall_s": round(wall, 2),
        "queries_per_s": round(len(ms) / wall, 1) if wall else None,
        "p50_ms": pct(50),
        "p99_ms": pct(99),
        "mean_ms": round(statistics.fmean(ms), 2) if ms else None,
    }))


if __name__ == "__main__":
    main()
