"""Side-by-side part of `just bench` (issue 11): the same generated catalog, the same steps, run by

- ours, git backend and file backend (the release binary under test);
- the Python `stac-repository` 0.0.6 (PyPI), file backend, in a virtual environment the project
  owns (`scripts/setup.sh --bench-tools`, or created here on first use);
- plain git + git-lfs (git init, `git lfs track` of every non-JSON file, add, commit);
- `cp -r` + `sha256sum` of the same catalog (the floor: one copy and one hash of every byte).

Steps: ingest one collection, +1 item, prune 1 item, diff HEAD~1 HEAD, verify. Every repetition
runs every tool once (interleaved, the order rotated each repetition) on a fresh repository; the
figure is the median of the repetitions. A tool that cannot do a step gets "n/a" and the reason.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import time

from bench_catalog import make_catalog, single_item

PY_VERSION = "0.0.6"
STEPS = ["ingest", "+1 item", "prune 1 item", "diff HEAD~1 HEAD", "verify"]


def bench_venv(root):
    """The Python tool's venv: $STAC_REPOSITORY_TOOLS/bench-venv or .build-tools/bench-venv."""
    tools = os.environ.get("STAC_REPOSITORY_TOOLS") or os.path.join(root, ".build-tools")
    return os.path.join(tools, "bench-venv")


def ensure_python_tool(root):
    """Returns (path to the stac-repository 0.0.6 script, None) or (None, why it cannot run)."""
    venv = bench_venv(root)
    exe = os.path.join(venv, "bin", "stac-repository")
    if os.path.exists(exe):
        p = subprocess.run([exe, "version"], capture_output=True, text=True, env=_py_env("/nonexistent"))
        if p.returncode == 0 and p.stdout.strip() == PY_VERSION:
            return exe, None
    print(f"bench: installing stac-repository=={PY_VERSION} (PyPI) in {venv}", flush=True)
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    p = subprocess.run([python, "-m", "venv", venv], capture_output=True, text=True)
    if p.returncode == 0:
        p = subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "-q",
                            f"stac-repository=={PY_VERSION}"], capture_output=True, text=True)
    if p.returncode != 0 or not os.path.exists(exe):
        return None, f"could not install stac-repository=={PY_VERSION} from PyPI: {p.stderr.strip()[-200:]}"
    return exe, None


def _py_env(home):
    env = dict(os.environ)
    env["HOME"] = home  # its configuration is $HOME/.stac-repository.toml
    env["COLUMNS"] = "200"
    return env


def _one_item(root, collection="bench"):
    """The +1 item: a directory with one 64 KiB asset and its item document."""
    return single_item(root, collection, folder="one-more")


class Tool:
    """One side of the comparison. `steps(src, one, work)` yields (step, argv or None, why, kwargs)."""

    name = ""
    skip_reason = None

    def prepare(self, work):
        pass

    def cleanup(self, work):
        pass


class Ours(Tool):
    def __init__(self, binary, backend):
        self.bin = binary
        self.backend = backend
        self.name = f"ours ({backend})"

    def steps(self, src, one, work, run):
        repo = os.path.join(work, f"ours-{self.backend}")
        run([self.bin, "init", "--repository", repo, "--backend", self.backend, "--id", "bench", "-q"], timed=False)
        yield "ingest", [self.bin, "ingest", "--repository", repo, src, "-q"], {}
        yield "+1 item", [self.bin, "ingest", "--repository", repo, one, "-q"], {}
        yield "prune 1 item", [self.bin, "prune", "--repository", repo, "item-000001", "-q"], {}
        if self.backend == "git":
            yield "diff HEAD~1 HEAD", [self.bin, "diff", "--repository", repo, "HEAD~1", "HEAD"], {}
        else:
            yield "diff HEAD~1 HEAD", None, {"why": "the file backend keeps no history"}
        yield "verify", [self.bin, "verify", "--repository", repo, "-q"], {}
        subprocess.run(["rm", "-rf", repo], check=True)


class PythonFile(Tool):
    """The Python tool's file backend. Its in-scope assets are only copied with
    --ingest-assets-out-of-scope (0.0.6 grants R_ASSETS only to the out-of-scope prefixes), so that
    flag is passed: without it the repository would hold no asset bytes at all."""

    def __init__(self, exe):
        self.exe = exe
        self.name = f"Python {PY_VERSION} (file)"

    def steps(self, src, one, work, run):
        home = os.path.join(work, "py-home")
        repo = os.path.join(work, "py-file")
        os.makedirs(home, exist_ok=True)
        with open(os.path.join(home, ".stac-repository.toml"), "w") as f:
            f.write(f'[bench]\nbackend = "file"\nactive = true\npath = "{repo}"\n')
        env = _py_env(home)
        # No --parent: "overwrite catalog root ? [y/n]" is answered on stdin.
        yield "ingest", [self.exe, "ingest", "--ingest-assets-out-of-scope", src], {"env": env, "input": "y\n"}
        yield "+1 item", [self.exe, "ingest", "--parent", "bench", "--ingest-assets-out-of-scope", one], {"env": env}
        yield "prune 1 item", [self.exe, "prune", "item-000001"], {"env": env}
        yield "diff HEAD~1 HEAD", None, {"why": f"{PY_VERSION} has no diff command"}
        yield "verify", None, {"why": f"{PY_VERSION} has no verify command"}
        shutil.rmtree(repo, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


class GitLFS(Tool):
    """Plain git + git-lfs. The catalog (and the +1 item) is copied into the work tree first,
    untimed (that copy is the user's, not git's), then `git init`, `git lfs track` of the asset extensions (every
    non-JSON file), `git add -A`, `git commit` are timed together."""

    name = "git + git-lfs"

    def __init__(self):
        if not shutil.which("git") or subprocess.run(["git", "lfs", "version"], capture_output=True).returncode != 0:
            self.skip_reason = "git or git-lfs is not installed"

    def steps(self, src, one, work, run):
        repo = os.path.join(work, "git-lfs")
        shutil.rmtree(repo, ignore_errors=True)
        subprocess.run(["rm", "-rf", repo], check=True)
        subprocess.run(["cp", "-r", os.path.dirname(src), repo], check=True)
        exts = sorted({os.path.splitext(f)[1] for _, _, fs in os.walk(repo) for f in fs} - {".json"})
        track = " ".join(f"'*{e}'" for e in exts)
        q = "-c user.name=bench -c user.email=bench@example.org"
        ingest = (f"cd {repo} && git init -q && git lfs track {track} >/dev/null && git add -A && "
                  f"git {q} commit -q -m ingest")
        yield "ingest", ["bash", "-c", ingest], {}
        subprocess.run(["cp", "-r", os.path.dirname(one), os.path.join(repo, "bench", "one-more")], check=True)
        yield "+1 item", ["bash", "-c", f"cd {repo} && git add bench/one-more && git {q} commit -q -m 'one more'"], {}
        yield "prune 1 item", ["bash", "-c", f"cd {repo} && git rm -r -q bench/item-000001 && "
                                             f"git {q} commit -q -m prune"], {}
        yield "diff HEAD~1 HEAD", ["git", "-C", repo, "diff", "--stat", "HEAD~1", "HEAD"], {}
        yield "verify", ["bash", "-c", f"cd {repo} && git fsck --full --no-progress && git lfs fsck >/dev/null"], {}
        shutil.rmtree(repo, ignore_errors=True)


class CopyHash(Tool):
    """`cp -r` of the catalog and `sha256sum` of every copied file (the floor)."""

    name = "cp -r + sha256sum"

    def steps(self, src, one, work, run):
        dest = os.path.join(work, "cp-copy")
        manifest = os.path.join(work, "cp-manifest")
        subprocess.run(["rm", "-rf", dest], check=True)
        yield "ingest", ["bash", "-c", f"cp -r {os.path.dirname(src)} {dest} && cd {dest} && "
                                       f"find . -type f -print0 | xargs -0 sha256sum > {manifest}"], {}
        yield "+1 item", ["bash", "-c", f"cp -r {os.path.dirname(one)} {dest}/bench/one-more && cd {dest} && "
                                        f"sha256sum bench/one-more/* >> {manifest}"], {}
        yield "prune 1 item", ["bash", "-c", f"rm -r {dest}/bench/item-000001 && "
                                             f"grep -v '/item-000001/' {manifest} > {manifest}.new && "
                                             f"mv {manifest}.new {manifest}"], {}
        yield "diff HEAD~1 HEAD", None, {"why": "no history"}
        yield "verify", ["bash", "-c", f"cd {dest} && sha256sum -c --quiet {manifest}"], {}
        shutil.rmtree(dest, ignore_errors=True)
        if os.path.exists(manifest):
            os.remove(manifest)


def side_by_side(binary, root, work, sizes, reps, timer):
    """Runs every tool on every size; returns the report as a dict (also used for results.json).

    `timer(argv, env=None, input=None)` -> (seconds, peak RSS bytes, returncode, stderr)."""
    tools = [Ours(binary, "git"), Ours(binary, "file")]
    exe, why = ensure_python_tool(root)
    py = PythonFile(exe) if exe else None
    if py is None:
        py = PythonFile(None)
        py.skip_reason = why
    tools.append(py)
    tools += [GitLFS(), CopyHash()]
    skipped = [{"tool": f"Python {PY_VERSION} (git)", "why": (
        "not run: the 0.0.6 command line does not offer its git backend (stac_repository_cli/backends.py "
        "comments it out), and enabled through a backend module it fails on an empty repository and "
        "then on every ingest (LocalRepository.get_commit and lfs_track run git in the process's "
        "working directory instead of the clone; with those two patched, its commit refuses the "
        ".gitattributes that its own lfs_track wrote: \"Unexpected unstaged files\")")}]
    for t in tools:
        if t.skip_reason:
            skipped.append({"tool": t.name, "why": t.skip_reason})
    active = [t for t in tools if not t.skip_reason]

    report = {"sizes": [], "skipped": skipped, "reps": reps}
    for n in sizes:
        sdir = os.path.join(work, f"sbs-src-{n}")
        src = make_catalog(sdir, n)
        one = _one_item(os.path.join(work, f"sbs-one-{n}"))
        subprocess.run(["bash", "-c", f"cat $(find {sdir} -type f) > /dev/null"])  # page cache, for all alike
        times = {t.name: {s: [] for s in STEPS} for t in active}
        rss = {t.name: {s: [] for s in STEPS} for t in active}
        why = {t.name: {} for t in active}
        load_before = os.getloadavg()
        started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        for rep in range(reps):
            order = active[rep % len(active):] + active[:rep % len(active)]
            for t in order:

                def untimed(argv, timed=False):
                    subprocess.run(argv, check=True, capture_output=True)

                for step, argv, kw in t.steps(src, one, work, untimed):
                    if argv is None:
                        why[t.name][step] = kw["why"]
                        continue
                    sec, peak, rc, err = timer(argv, env=kw.get("env"), input=kw.get("input"))
                    if rc != 0:
                        why[t.name][step] = f"failed (exit {rc}): {err.strip().splitlines()[-1] if err.strip() else ''}"
                        print(f"bench: {t.name} N={n} {step}: FAILED {err.strip()[-300:]}", flush=True)
                        continue
                    times[t.name][step].append(sec)
                    rss[t.name][step].append(peak)
                    print(f"bench: N={n} rep {rep + 1}/{reps} {t.name} {step}: {sec:.3f} s, {peak / 1e6:.0f} MB",
                          flush=True)
        entry = {"n": n, "started": started, "load_before": [round(x, 2) for x in load_before],
                 "load_after": [round(x, 2) for x in os.getloadavg()], "tools": {}}
        for t in active:
            entry["tools"][t.name] = {
                s: ({"median_s": round(statistics.median(times[t.name][s]), 3),
                     "runs_s": [round(x, 3) for x in times[t.name][s]],
                     "peak_rss_mb": round(max(rss[t.name][s]) / 1e6, 1)}
                    if times[t.name][s] else {"why": why[t.name].get(s, "not run")})
                for s in STEPS}
        report["sizes"].append(entry)
        shutil.rmtree(sdir, ignore_errors=True)
        shutil.rmtree(os.path.dirname(one), ignore_errors=True)
    return report


RATIOS = [
    # (label, numerator tool, denominator tool, target predicate text, target test)
    ("git + git-lfs ÷ ours (git)", "git + git-lfs", "ours (git)", "≥ 2 (ingest, N = 10,000)",
     lambda r, n, s: r >= 2 if (n == 10000 and s == "ingest") else None),
    ("ours (git) ÷ cp+sha256", "ours (git)", "cp -r + sha256sum", "≤ 1.5 (ingest, N = 10,000)",
     lambda r, n, s: r <= 1.5 if (n == 10000 and s == "ingest") else None),
    (f"Python (file) ÷ ours (file)", f"Python {PY_VERSION} (file)", "ours (file)", "≥ 3 (N = 1,000 and 10,000)",
     lambda r, n, s: r >= 3 if n in (1000, 10000) and s in ("ingest", "+1 item", "prune 1 item") else None),
]


def _median(entry, tool, step):
    v = entry["tools"].get(tool, {}).get(step, {})
    return v.get("median_s")


def markdown(report):
    """The side-by-side tables: medians per tool, then the ratios with their targets."""
    names = []
    for e in report["sizes"]:
        for t in e["tools"]:
            if t not in names:
                names.append(t)
    out = [f"Median of {report['reps']} interleaved runs (whole-process wall time; peak RSS in brackets).\n"]
    out.append("| N | step | " + " | ".join(names) + " |")
    out.append("|---|---|" + "---|" * len(names))
    for e in report["sizes"]:
        for s in STEPS:
            cells = []
            for t in names:
                v = e["tools"].get(t, {}).get(s, {})
                cells.append(f"{v['median_s']} s ({v['peak_rss_mb']:.0f} MB)" if "median_s" in v else "n/a")
            out.append(f"| {e['n']:,} | {s} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("| N | step | " + " | ".join(r[0] for r in RATIOS) + " |")
    out.append("|---|---|" + "---|" * len(RATIOS))
    for e in report["sizes"]:
        for s in STEPS:
            cells = []
            for label, num, den, _, test in RATIOS:
                a, b = _median(e, num, s), _median(e, den, s)
                if a is None or b is None or b == 0:
                    cells.append("n/a")
                    continue
                r = a / b
                verdict = test(r, e["n"], s)
                mark = "" if verdict is None else (" ✓" if verdict else " **✗ missed**")
                cells.append(f"{r:.2f}×{mark}")
            out.append(f"| {e['n']:,} | {s} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("Targets (issue 11): " + "; ".join(f"{r[0]} {r[3]}" for r in RATIOS) + ".\n")
    for e in report["sizes"]:
        out.append(f"- N = {e['n']:,}: started {e['started']}, load average before {e['load_before']}, "
                   f"after {e['load_after']}.")
    for s in report["skipped"]:
        out.append(f"- Skipped: {s['tool']}: {s['why']}.")
    notes = {}
    for e in report["sizes"]:
        for t, steps in e["tools"].items():
            for s, v in steps.items():
                if "why" in v:
                    notes.setdefault((t, v["why"]), []).append(f"{s} (N = {e['n']:,})")
    for (t, w), where in notes.items():
        steps = sorted(set(x.split(" (N")[0] for x in where))
        out.append(f"- n/a: {t}, {', '.join(steps)}: {w}.")
    return "\n".join(out) + "\n"
