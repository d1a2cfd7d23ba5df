"""How long convwidget.parse takes, against building the same model by running its code.

The alternative to parsing a paste is to run it: ``exec`` the text and build the model,
on the CPU (what a forward-pass tool such as torchinfo needs) or under
``torch.device("meta")``. Both run arbitrary code; parse does not. Hostile inputs are
timed too: refusal must be quick whatever is pasted.

Each timing is the median of several runs in this process, after one cold run reported
apart. Peak memory is measured in a fresh process per (model, method): the rise of the
process's peak resident set size (VmHWM) over what it was after ``import torch``.

Run: /work/venv/bin/python benchmarks/bench_parse.py [--runs 31]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from convwidget.pasted import parse  # noqa: E402

CIFAR = """\
class CNN(nn.Module):
    def __init__(self):
        super(CNN, self).__init__()
        self.conv_layer = nn.Sequential(
            nn.Conv2d(in_channels=3, out_channels=32, kernel_size=3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(inplace=True),
            nn.Conv2d(in_channels=32, out_channels=64, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(in_channels=64, out_channels=128, kernel_size=3, padding=1),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(in_channels=128, out_channels=128, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Dropout2d(p=0.05),
            nn.Conv2d(in_channels=128, out_channels=256, kernel_size=3, padding=1),
            nn.BatchNorm2d(256),
            nn.ReLU(inplace=True),
            nn.Conv2d(in_channels=256, out_channels=256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.fc_layer = nn.Sequential(
            nn.Dropout(p=0.1),
            nn.Linear(4096, 1024),
            nn.ReLU(inplace=True),
            nn.Linear(1024, 512),
            nn.ReLU(inplace=True),
            nn.Dropout(p=0.1),
            nn.Linear(512, 10)
        )

    def forward(self, x):
        x = self.conv_layer(x)
        x = x.view(x.size(0), -1)
        x = self.fc_layer(x)
        return x
"""


def _vgg16_text() -> str:
    lines, c = [], 3
    for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"]:
        if v == "M":
            lines.append("    nn.MaxPool2d(kernel_size=2, stride=2),")
        else:
            lines.append(f"    nn.Conv2d({c}, {v}, kernel_size=3, padding=1),")
            lines.append("    nn.ReLU(inplace=True),")
            c = v
    lines += ["    nn.AdaptiveAvgPool2d((7, 7)),", "    nn.Flatten(),",
              "    nn.Linear(512 * 7 * 7, 4096),", "    nn.ReLU(True),", "    nn.Dropout(),",
              "    nn.Linear(4096, 4096),", "    nn.ReLU(True),", "    nn.Dropout(),",
              "    nn.Linear(4096, 1000),"]
    return "model = nn.Sequential(\n" + "\n".join(lines) + "\n)\n"


MODELS = {
    "forum CIFAR net (class)": (CIFAR, "CNN"),
    "VGG-16 (nn.Sequential)": (_vgg16_text(), "model"),
    "Linear(100000, 100000)": ("model = nn.Sequential(nn.Linear(100000, 100000))\n", "model"),
}

HOSTILE = {
    "10 MB string": "nn.Linear(1, 2)\n" + "#" * 10_000_000,
    "brackets 5000 deep": "nn.Linear(" + "(" * 5000 + "1" + ")" * 5000 + ", 2)",
    "sum of 30000 ones": "nn.Linear(" + "+".join(["1"] * 30_000) + ", 2)",
    "2**10**10": "nn.Conv2d(3, 2**10**10, 3)",
    "__import__('os').system": "__import__('os').system('true')",
    "LSTM num_layers=10**9 (kw)": "nn.LSTM(10, 20, num_layers=10**9)",
    "40 default Transformers": "nn.Transformer(batch_first=True)\n" * 40,
}

# Accepted, but once slow (issue 10): a regex backtracked quadratically on leading blanks
# (33 s and 35 s before), a class/def check ran across blank lines.
BOUNDED = {
    "199,000 spaces + ReLU": " " * 199_000 + "nn.ReLU()",
    "50,000 tabs + ReLU": "\t" * 50_000 + "nn.ReLU()",
    "9,999 blank lines + ReLU": "\n" * 9_999 + "nn.ReLU()",
    "first nn.Embedding": "nn.Embedding(1000, 64)",
}


def run_code(text: str, name: str, device: str | None) -> nn.Module:
    """The alternative: run the text (trusted here) and build the model."""
    namespace = {"torch": torch, "nn": nn, "F": F}
    exec(compile(text, "<bench>", "exec"), namespace)  # noqa: S102 - our own text
    obj = namespace[name]
    if isinstance(obj, nn.Module):
        return obj
    if device is None:
        return obj()
    with torch.device(device):
        return obj()


def _build(text: str, name: str, method: str) -> nn.Module:
    if method == "parse":
        return parse(text)
    if method == "exec, meta":
        if name == "model":  # module-level code: run it under the meta device
            with torch.device("meta"):
                return run_code(text, name, None)
        return run_code(text, name, "meta")
    return run_code(text, name, None)


def timed(fn, runs: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    fn()
    cold = time.perf_counter() - t0
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return cold, statistics.median(times)


def _hwm_kb() -> int:
    """Peak resident set of this process image (VmHWM; unlike ru_maxrss it does not
    inherit the parent's peak across fork+exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # pragma: no cover


def child(model: str, method: str) -> None:
    text, name = MODELS[model] if model in MODELS else (BOUNDED[model], "model")
    before = _hwm_kb()
    _build(text, name, method)
    print(json.dumps((_hwm_kb() - before) / 1024))  # kB -> MB


def peak_mb(model: str, method: str) -> float | None:
    out = subprocess.run([sys.executable, __file__, "--child", model, method],
                         capture_output=True, text=True, timeout=600)
    return json.loads(out.stdout) if out.returncode == 0 else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=31)
    ap.add_argument("--child", nargs=2)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {args.runs} runs each (median), single thread\n")
    print(f"{'model':28} {'method':12} {'cold ms':>9} {'median ms':>10} {'peak +MB':>9}"
          f" {'vs parse':>9}")
    for model, (text, name) in MODELS.items():
        base = None
        for method in ("parse", "exec, meta", "exec, CPU"):
            if model.startswith("Linear(100000") and method == "exec, CPU":
                print(f"{model:28} {method:12} {'-':>9} {'-':>10} {'40000':>9} "
                      f"{'(not run: 40 GB of weights)':>9}")
                continue
            runs = args.runs if method != "exec, CPU" else max(3, args.runs // 3)
            cold, med = timed(lambda t=text, n=name, m=method: _build(t, n, m), runs)
            mem = peak_mb(model, method)
            base = base or med
            mem_s = f"{mem:9.1f}" if mem is not None else f"{'?':>9}"
            print(f"{model:28} {method:12} {cold * 1e3:9.2f} {med * 1e3:10.2f} {mem_s}"
                  f" {med / base:8.1f}x")
    print(f"\n{'hostile input':28} {'refused in (median ms)':>24}")
    for label, text in HOSTILE.items():
        def refuse(text: str = text, label: str = label) -> None:
            try:
                parse(text)
            except ValueError:
                return
            raise AssertionError(f"{label} was accepted")
        _, med = timed(refuse, args.runs)
        print(f"{label:28} {med * 1e3:24.3f}")
    print(f"\n{'once slow, accepted':28} {'cold ms':>9} {'median ms':>10} {'peak +MB':>9}")
    for label, text in BOUNDED.items():
        cold, med = timed(lambda t=text: parse(t), max(3, args.runs // 3))
        mem = peak_mb(label, "parse")
        mem_s = f"{mem:9.1f}" if mem is not None else f"{'?':>9}"
        print(f"{label:28} {cold * 1e3:9.2f} {med * 1e3:10.2f} {mem_s}")


if __name__ == "__main__":
    main()
