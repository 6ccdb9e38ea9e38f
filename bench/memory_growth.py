"""Memory kept by one long-lived process that checks many distinct files (an editor's language
server, a pre-commit run over a monorepo, a service): does it plateau?

    python bench/memory_growth.py [--inputs N] [--every K] [--kind dockerfile|compose|k8s|all]
                                  [--fresh-checker] [--script-commands N]

Generates ``--inputs`` distinct inputs (each with its own RUN scripts, base tags, variables,
service names and images, written for this bench) and checks each with
:meth:`keelhaul.checking.Checker.check`, as stdin is checked: one file named in one folder, so
the per-folder configuration and build-context lookups are made once and what is measured is
what the process keeps across inputs. Every ``--every`` inputs it prints the memory Python
holds after a full collection (tracemalloc's current size: the objects still reachable) and
the process's VmRSS, and the growth per input since the previous line. A plateau shows as the
growth per input falling to about zero once the bounded caches are full.

``--fresh-checker`` makes a new Checker (a new configuration finder) for every input, as a
process that builds one per request would.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


#: Extra commands per RUN script (``--script-commands``): larger scripts, larger parses.
EXTRA = 0


def dockerfile(i: int) -> str:
    extra = "".join(f" && echo step{k}-{i} >> /var/log/build{i}.log" for k in range(EXTRA))
    return (
        f"FROM python:3.{i % 13}-slim AS build{i}\n"
        f"ARG VERSION_{i}=1.{i}.0\n"
        f"ENV APP_HOME=/opt/app{i} LOG_LEVEL=level{i}\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends "
        f"gcc libpq-dev pkg{i} && curl -fsSL https://example.com/tool-{i}.tar.gz "
        f"| tar -xz -C /usr/local/bin{extra} && rm -rf /var/lib/apt/lists/*\n"
        f"WORKDIR /opt/app{i}\n"
        "COPY requirements.txt .\n"
        f"RUN pip install --no-cache-dir -r requirements.txt && useradd -u {1000 + i} app{i}\n"
        f"RUN for f in a{i} b{i} c{i}; do echo $f >> /etc/app{i}.conf; done\n"
        "COPY . .\n"
        f"EXPOSE {1024 + i % 60000}\n"
        f'CMD ["python", "-m", "app{i}", "--port", "{1024 + i % 60000}"]\n'
    )


def compose(i: int) -> str:
    return (
        "services:\n"
        f"  web{i}:\n"
        f"    image: example/web{i}:1.{i}\n"
        "    ports:\n"
        f'      - "{1024 + i % 60000}:80"\n'
        "    environment:\n"
        f"      DB_PASSWORD: Pw{i}x9#kQ2$vL7pR4wZ\n"
        f"      MODE: mode{i}\n"
        f"  db{i}:\n"
        f"    image: postgres:16.{i % 9}\n"
        "    volumes:\n"
        f"      - data{i}:/var/lib/postgresql/data\n"
        "volumes:\n"
        f"  data{i}: {{}}\n"
    )


def k8s(i: int) -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
        f"  name: app{i}\n"
        "spec:\n  selector:\n    matchLabels:\n"
        f"      app: app{i}\n"
        "  template:\n    metadata:\n      labels:\n"
        f"        app: app{i}\n"
        "    spec:\n      containers:\n"
        f"        - name: app{i}\n"
        f"          image: example/app{i}:2.{i}\n"
        "          env:\n"
        f"            - name: API_TOKEN\n              value: tok{i}Zq8#pL3$mN6vB1\n"
        "          ports:\n"
        f"            - containerPort: {1024 + i % 60000}\n"
    )


MAKERS = {"dockerfile": (dockerfile, "Dockerfile"), "compose": (compose, "compose.yaml"),
          "k8s": (k8s, "deployment.yaml")}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--inputs", type=int, default=2000)
    ap.add_argument("--every", type=int, default=250)
    ap.add_argument("--kind", choices=(*MAKERS, "all"), default="all")
    ap.add_argument("--fresh-checker", action="store_true")
    ap.add_argument(
        "--script-commands",
        type=int,
        default=0,
        help="extra commands in each Dockerfile's first RUN (larger scripts)",
    )
    opts = ap.parse_args()
    global EXTRA
    EXTRA = opts.script_commands

    from keelhaul.catalogue import all_rules
    from keelhaul.checking import Checker, Target
    from keelhaul.config import ConfigFinder
    from keelhaul.selection import Vocabulary

    rules = all_rules()
    vocabulary = Vocabulary(rules)
    kinds = list(MAKERS) if opts.kind == "all" else [opts.kind]
    folder = Path("/nonexistent-keelhaul-bench")

    def checker() -> Checker:
        return Checker(ConfigFinder(vocabulary, isolated=True), vocabulary, rules)

    def vmrss() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    one = checker()
    # one input of each kind first: imports, tables and first-use state are not growth
    for kind in kinds:
        make, name = MAKERS[kind]
        one.check([Target.stdin(make(10**6).encode(), str(folder / name))])
    gc.collect()
    tracemalloc.start()
    gc.collect()
    base_py, base_rss = tracemalloc.get_traced_memory()[0], vmrss()
    print(f"after warm-up: python {base_py / 1e6:.1f} MB traced (from now), VmRSS "
          f"{base_rss / 1e6:.1f} MB; kinds {', '.join(kinds)}")  # fmt: skip
    last_py, last_rss, last_n = base_py, base_rss, 0
    for n in range(1, opts.inputs + 1):
        kind = kinds[n % len(kinds)]
        make, name = MAKERS[kind]
        current = checker() if opts.fresh_checker else one
        result = current.check([Target.stdin(make(n).encode(), str(folder / name))])
        assert not result.broken, result.broken
        if n % opts.every == 0 or n == opts.inputs:
            gc.collect()
            py, rss = tracemalloc.get_traced_memory()[0], vmrss()
            print(
                f"inputs {n:6d}: python +{(py - base_py) / 1e6:7.2f} MB, VmRSS "
                f"{rss / 1e6:7.1f} MB; since {last_n}: {(py - last_py) / (n - last_n) / 1e3:6.1f} "
                f"KB/input (python), {(rss - last_rss) / (n - last_n) / 1e3:6.1f} KB/input (RSS)"
            )
            last_py, last_rss, last_n = py, rss, n
    top = tracemalloc.take_snapshot().statistics("filename")[:8]
    print("largest holders (by file that allocated):")
    for stat in top:
        print(f"  {stat.size / 1e6:7.2f} MB  {stat.traceback[0].filename}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
