"""push and clone of a repository with Git LFS objects to giftless on loopback, next to stock git + git-lfs.

Usage: python3 scripts/bench_push_clone.py BINARY [ITEMS] [OBJECT_KIB]
ITEMS items (default 1,000) with two assets each of OBJECT_KIB KiB (default 64), so 2 x ITEMS
distinct Git LFS objects, ingested into a git repository (not timed). Then, each against a
fresh bare repository and a fresh giftless repository path on the same giftless
(scripts/setup.sh --test-tools; its flask server on 127.0.0.1):
  ours   `stac-repository push`                        and `stac-repository clone URL DIR --lfs-url L`
  stock  `git lfs push --all` + `git push`             and `GIT_LFS_SKIP_SMUDGE=1 git clone` + `git lfs pull`
Each is run once; wall time, MB/s and objects/s of the LFS payload, and peak RSS
(/usr/bin/time -f %M, the largest of the commands of a step) are printed and appended to
bench-results/push-clone.txt, with `uptime` (the machine is shared). Nothing is timed inside
the test suite.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from bench_catalog import make_catalog  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def giftless_flask():
    tools = os.environ.get("STAC_REPOSITORY_TOOLS") or os.path.join(ROOT, ".build-tools")
    flask = os.path.join(tools, "giftless", "bin", "flask")
    if not os.access(flask, os.X_OK):
        sys.exit(f"bench_push_clone: no giftless at {flask}; run scripts/setup.sh --test-tools "
                 "(or set STAC_REPOSITORY_TOOLS)")
    return flask


def timed(steps, env, cwd):
    """Runs each argv of `steps` under /usr/bin/time; returns (wall seconds, peak RSS KiB)."""
    start, peak = time.perf_counter(), 0
    for argv in steps:
        with tempfile.NamedTemporaryFile("r") as rss:
            r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name, *argv], cwd=cwd, env=env,
                               capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"bench_push_clone: {' '.join(argv)} failed: {r.stderr[-2000:]}")
            peak = max(peak, int(rss.read().strip().splitlines()[-1]))
    return time.perf_counter() - start, peak


def main():
    binary = os.path.abspath(sys.argv[1])
    items = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    size = int(sys.argv[3]) * 1024 if len(sys.argv) > 3 else 64 * 1024
    objects, payload = 2 * items, 2 * items * size
    with tempfile.TemporaryDirectory() as tmp:
        home = os.path.join(tmp, "home")
        os.makedirs(home)
        with open(os.path.join(home, ".gitconfig"), "w") as f:
            f.write("[user]\n\tname = Bench\n\temail = bench@example.org\n[lfs]\n\tlocksverify = false\n")
        env = dict(os.environ, HOME=home, GIT_CONFIG_GLOBAL=os.path.join(home, ".gitconfig"))
        storage = os.path.join(tmp, "giftless-storage")
        os.makedirs(storage)
        config = os.path.join(tmp, "giftless.yaml")
        with open(config, "w") as f:
            f.write("AUTH_PROVIDERS:\n  - giftless.auth.allow_anon:read_write\nTRANSFER_ADAPTERS:\n  basic:\n"
                    "    factory: giftless.transfer.basic_streaming:factory\n    options:\n"
                    "      storage_class: giftless.storage.local_storage:LocalStorage\n"
                    f"      storage_options:\n        path: {storage}\n")
        port = free_port()
        server = subprocess.Popen(
            [giftless_flask(), "run", "--host", "127.0.0.1", "--port", str(port)],
            env=dict(env, GIFTLESS_CONFIG_FILE=config, FLASK_APP="giftless.wsgi_entrypoint"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(600):
                try:
                    socket.create_connection(("127.0.0.1", port)).close()
                    break
                except OSError:
                    time.sleep(0.1)
            lfs = lambda name: f"http://127.0.0.1:{port}/bench/{name}.git/info/lfs"
            site = os.path.join(tmp, "site")
            make_catalog(site, items, big=size, small=size)
            repo = os.path.join(tmp, "repo")
            run = lambda *a, cwd=tmp: subprocess.run(a, check=True, capture_output=True, text=True, env=env, cwd=cwd)
            run(binary, "init", "--repository", repo, "--backend", "git", "--id", "bench", "--description", "bench")
            run(binary, "ingest", "--repository", repo, os.path.join(site, "catalog.json"))
            for name in ("ours", "stock"):
                run("git", "init", "-q", "--bare", "-b", "main", os.path.join(tmp, f"{name}.git"))
            run(binary, "remote", "add", "--repository", repo, "ours", "file://" + os.path.join(tmp, "ours.git"),
                "--lfs-url", lfs("ours"))
            run("git", "remote", "add", "stock", os.path.join(tmp, "stock.git"), cwd=repo)
            run("git", "config", "remote.stock.lfsurl", lfs("stock"), cwd=repo)

            results = {}
            results["push ours"] = timed([[binary, "push", "ours", "--repository", repo]], env, tmp)
            results["push stock"] = timed(
                [["git", "lfs", "push", "--all", "stock"], ["git", "push", "-q", "stock", "main"]], env, repo)
            results["clone ours"] = timed(
                [[binary, "clone", "file://" + os.path.join(tmp, "ours.git"), os.path.join(tmp, "clone-ours"),
                  "--lfs-url", lfs("ours")]], env, tmp)
            stock_clone = os.path.join(tmp, "clone-stock")
            results["clone stock"] = timed(
                [["env", "GIT_LFS_SKIP_SMUDGE=1", "git", "clone", "-q", os.path.join(tmp, "stock.git"), stock_clone],
                 ["git", "-C", stock_clone, "config", "lfs.url", lfs("stock")],
                 ["git", "-C", stock_clone, "lfs", "pull"]], env, tmp)
            for name in ("ours", "stock"):
                stored = sum(len(files) for _, _, files in os.walk(os.path.join(storage, "bench", name)))
                if stored != objects:
                    sys.exit(f"bench_push_clone: giftless holds {stored} objects of {name}, not {objects}")
            load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
            lines = [f"{items} items, {objects} Git LFS objects of {size // 1024} KiB ({payload / 1e6:.1f} MB) "
                     f"to giftless (flask) on loopback; one run each; {load}",
                     f"{'step':<12} {'wall s':>8} {'MB/s':>8} {'objects/s':>10} {'peak RSS MiB':>13}"]
            for step, (wall, rss) in results.items():
                lines.append(f"{step:<12} {wall:8.2f} {payload / 1e6 / wall:8.1f} {objects / wall:10.0f} "
                             f"{rss / 1024:13.1f}")
            print("\n".join(lines))
            out = os.path.join(ROOT, "bench-results")
            os.makedirs(out, exist_ok=True)
            with open(os.path.join(out, "push-clone.txt"), "a") as f:
                f.write("\n".join(lines) + "\n\n")
        finally:
            server.kill()


if __name__ == "__main__":
    main()
