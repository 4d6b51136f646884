"""A streamed ingest of N items, its wall time and its memory over time (issue 11).

Usage: python3 scripts/bench_stream.py BINARY N [BATCH]

Writes `scripts/bench_scale.py`'s items 0..N-1 as NDJSON (once, kept as
bench-results/items-N.ndjson), makes a git repository holding collection `scale` laid out as
`${year}/${month}/${day}`, and streams the file into `ingest - --batch-size BATCH` (default
10,000; `--assets reference --no-checksum`). Prints the wall time, the peak RSS (GNU `time`),
the load average and the RSS sampled every 10 s (BENCH_STREAM_INTERVAL), anonymous memory
apart from mapped files, appends them to bench-results/stream.txt, and
keeps the repository (its path is printed) for single-product commands on it. Nothing here is
run by the test suite.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_scale import item  # noqa: E402


def main():
    binary, n = sys.argv[1], int(sys.argv[2])
    batch = sys.argv[3] if len(sys.argv) > 3 else "10000"
    interval = float(os.environ.get("BENCH_STREAM_INTERVAL", "10"))
    results = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench-results")
    os.makedirs(results, exist_ok=True)
    data = os.path.join(results, f"items-{n}.ndjson")
    if not os.path.exists(data):
        with open(data + ".tmp", "w") as f:
            for i in range(n):
                f.write(json.dumps(item(i)) + "\n")
        os.rename(data + ".tmp", data)
    tmp = tempfile.mkdtemp(prefix="bench-stream-")
    repo, src = os.path.join(tmp, "repo"), os.path.join(tmp, "src")
    os.makedirs(src)
    collection = {
        "type": "Collection", "stac_version": "1.1.0", "id": "scale", "description": "scale test",
        "license": "CC-BY-4.0",
        "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                   "temporal": {"interval": [["2020-01-01T00:00:00Z", None]]}},
        "links": [],
    }
    with open(os.path.join(src, "collection.json"), "w") as f:
        json.dump(collection, f)
    subprocess.run([binary, "init", "--repository", repo, "--backend", "git", "--id", "scale",
                    "--description", "scale"], check=True, capture_output=True)
    subprocess.run([binary, "ingest", "-q", "--repository", repo, os.path.join(src, "collection.json"),
                    "--layout", "${year}/${month}/${day}"], check=True)
    started = time.time()
    with open(data) as stdin:
        p = subprocess.Popen(
            ["/usr/bin/time", "-f", "%M", binary, "ingest", "-q", "--repository", repo, "-", "--assets",
             "reference", "--no-checksum", "--no-with-collections", "--batch-size", batch],
            stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        samples = []

        def sample():
            # The tool is the child of GNU time.
            while p.poll() is None:
                children = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
                for child in children:
                    try:
                        with open(f"/proc/{child}/status") as status:
                            fields = dict(line.split(":", 1) for line in status if ":" in line)
                        # Heap and stacks (anonymous) apart from mapped files (pack indexes).
                        samples.append((round(time.time() - started), int(fields["RssAnon"].split()[0]) // 1024,
                                        int(fields["RssFile"].split()[0]) // 1024))
                    except (OSError, KeyError, ValueError):
                        pass
                time.sleep(interval)

        threading.Thread(target=sample, daemon=True).start()
        err = p.communicate()[1]
    wall = time.time() - started
    if p.returncode != 0:
        sys.exit(f"ingest failed ({p.returncode}): {err[-2000:]}")
    peak = int(err.strip().splitlines()[-1]) // 1024
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    text = (f"{n} items streamed in batches of {batch}: {wall:.1f} s, peak RSS {peak} MB, load average {load}\n"
            f"RSS (s, anonymous MB, file MB): {samples[::max(1, len(samples) // 20)]}\n"
            f"largest anonymous {max((a for _, a, _ in samples), default=0)} MB, "
            f"largest file-backed {max((m for _, _, m in samples), default=0)} MB\nrepository: {repo}")
    print(text)
    with open(os.path.join(results, "stream.txt"), "a") as f:
        f.write(text + "\n\n")


if __name__ == "__main__":
    main()
