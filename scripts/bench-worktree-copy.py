#!/usr/bin/env python3
"""Cost of writing the work tree: hard links (before) vs copies (after), 1,000 x 64 KiB.

Writes N objects of SIZE bytes into a store directory, then materialises them into a work
tree the way GitBackend.updateWorkTree does (temporary name + rename), once with os.link and
once with FICLONE falling back to sendfile (FS.cloneFile). Prints the median of 5 runs each.
Usage: scripts/bench-worktree-copy.py [DIR] [N] [SIZE]
"""
import fcntl, os, shutil, statistics, sys, tempfile, time, uuid

FICLONE = 0x40049409
base = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="bench-wt-")
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
size = int(sys.argv[3]) if len(sys.argv) > 3 else 64 * 1024
store = os.path.join(base, "store")
os.makedirs(store, exist_ok=True)
for i in range(n):
    with open(os.path.join(store, f"o{i}"), "wb") as f:
        f.write(os.urandom(size))

def link(src, tmp):
    os.link(src, tmp)

reflinked = [0]
def clone(src, tmp):
    with open(src, "rb") as s, open(tmp, "xb") as d:
        try:
            fcntl.ioctl(d.fileno(), FICLONE, s.fileno())
            reflinked[0] += 1
        except OSError:
            remaining = os.fstat(s.fileno()).st_size
            offset = 0
            while remaining > 0:
                sent = os.sendfile(d.fileno(), s.fileno(), offset, remaining)
                offset += sent
                remaining -= sent

def once(method):
    tree = os.path.join(base, "tree")
    shutil.rmtree(tree, ignore_errors=True)
    os.makedirs(os.path.join(tree, "tmp"))
    start = time.perf_counter()
    for i in range(n):
        d = os.path.join(tree, f"item-{i}")
        os.mkdir(d)
        tmp = os.path.join(tree, "tmp", str(uuid.uuid4()))
        method(os.path.join(store, f"o{i}"), tmp)
        os.rename(tmp, os.path.join(d, "data.tif"))
    return time.perf_counter() - start

for name, method in [("hard link (before)", link), ("copy-on-write / copy (after)", clone)]:
    times = [once(method) for _ in range(5)]
    print(f"{name}: median {statistics.median(times) * 1000:.0f} ms for {n} x {size // 1024} KiB "
          f"(runs: {', '.join(f'{t * 1000:.0f}' for t in times)} ms)")
print(f"reflinks made: {reflinked[0]} (0 means the file system has none; sendfile copied the bytes)")
if len(sys.argv) <= 1:
    shutil.rmtree(base)
