"""torchinfo's ``summary`` against ``convwidget.trace``: time and extra peak memory.

Each measurement runs in its own subprocess, which builds the model with real CPU weights
(as a user has it), then times the first call (cold: includes PyTorch's one-off imports
for the meta device) and then repeated calls (warm). Peak memory is the process's resident
high-water mark (VmHWM, reset through /proc/self/clear_refs just before the call) minus the
resident size before it: the extra memory the call needs on top of the model.

Run:  /work/venv/bin/python benchmarks/bench_trace.py [--runs 3] [--quick]
Compares with torchinfo (the ``bench`` extra) when it is installed; without it, only
``trace`` is measured.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# name -> (builder expression in tests/models.py, input shape)
CASES = {
    "CIFAR net 1×3×32×32": ("CifarNet()", (1, 3, 32, 32)),
    "VGG-16 32×3×224×224": ("VGG()", (32, 3, 224, 224)),
    "ResNet-50 32×3×224×224": ("ResNet50()", (32, 3, 224, 224)),
    "Conv3d net 4×1×128³": ("VideoNet(fc_in=16 * 16 * 16 * 16)", (4, 1, 128, 128, 128)),
}


def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def child(tool: str, case: str, repeats: int) -> None:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests"))
    import models  # noqa: F401  (the builders)
    import torch

    expr, shape = CASES[case]
    with torch.no_grad():
        model = eval(expr, vars(models))  # our own table above, not user input
    if tool == "torchinfo":
        from torchinfo import summary

        def call() -> None:
            summary(model, input_size=shape, verbose=0, device="cpu")
    else:
        from convwidget.tracer import trace

        def call() -> None:
            trace(model, shape)

    results = {}
    for phase, n in (("cold", 1), ("warm", repeats)):
        times, peaks = [], []
        for _ in range(n):
            before = _rss_kb("VmRSS")
            resettable = _reset_peak()
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
            peak = _rss_kb("VmHWM") if resettable else _rss_kb("VmRSS")
            peaks.append(max(0, peak - before) / 1024)
        results[phase] = {"time": statistics.median(times), "mem": statistics.median(peaks)}
    print(json.dumps(results))


def run(tool: str, case: str, repeats: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", tool, case, str(repeats)],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="subprocesses per tool and model")
    parser.add_argument("--quick", action="store_true", help="CIFAR net and VGG-16 only")
    parser.add_argument("--explorer-only", action="store_true",
                        help="only the in-process ModelExplorer table")
    parser.add_argument("--refusals-only", action="store_true",
                        help="only the table of inputs trace refuses (issue 10's worst cases)")
    parser.add_argument("--zoo-only", action="store_true",
                        help="only the in-process table over tests/zoo.py and full-size mobile nets")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if _one_part(args):
        return
    cases = list(CASES)[:2] if args.quick else list(CASES)
    tools = [("trace", 20), ("torchinfo", 2)]
    if importlib.util.find_spec("torchinfo") is None:
        print("torchinfo is not installed (pip install torchinfo): measuring trace only",
              file=sys.stderr)
        tools = tools[:1]
    rows = []
    for case in cases:
        res = {}
        for tool, repeats in tools:
            runs = [run(tool, case, repeats) for _ in range(args.runs)]
            res[tool] = {ph: {k: statistics.median(r[ph][k] for r in runs)
                              for k in ("time", "mem")} for ph in ("cold", "warm")}
            print(f"  measured {tool:9s} on {case}", file=sys.stderr)
        rows.append((case, res))

    head = (f"{'model':24s} {'phase':5s} {'torchinfo':>10s} {'trace':>10s} {'speed-up':>9s}"
            f" {'torchinfo mem':>14s} {'trace mem':>10s}")
    print(f"medians of {args.runs} subprocesses each (warm: median of repeated calls in a "
          f"process); mem = extra peak RSS over the built model")
    print(head)
    print("-" * len(head))
    for case, res in rows:
        for ph in ("cold", "warm"):
            tr = res["trace"][ph]
            if "torchinfo" not in res:
                print(f"{case:24s} {ph:5s} {'-':>10s} {fmt_time(tr['time']):>10s} {'-':>9s}"
                      f" {'-':>14s} {tr['mem']:>7.0f} MB")
                continue
            ti = res["torchinfo"][ph]
            print(f"{case:24s} {ph:5s} {fmt_time(ti['time']):>10s} {fmt_time(tr['time']):>10s}"
                  f" {ti['time'] / tr['time']:>8.0f}× {ti['mem']:>11.0f} MB"
                  f" {tr['mem']:>7.0f} MB")
    explorer_table()
    refusal_table()
    zoo_table()


def _one_part(args: argparse.Namespace) -> bool:
    """Run the one table (or subprocess) the flags ask for; False for the whole benchmark."""
    if args.zoo_only:
        zoo_table()
    elif args.explorer_only:
        explorer_table()
    elif args.refusals_only:
        refusal_table()
    elif args.child:
        tool, case, repeats = args.child
        child(tool, case, int(repeats))
    else:
        return False
    return True


def _mobile_nets() -> dict[str, Any]:
    """Full-size mobile networks (torchvision's MobileNetV2 config at width 1.0, 224×224; the
    same with squeeze-excite and hardswish as in MobileNetV3) from the zoo's blocks."""
    sys.path.insert(0, str(ROOT / "tests"))
    from torch import nn
    from zoo import InvertedResidual, cbr

    def build(v3: bool) -> nn.Module:
        act = nn.Hardswish if v3 else nn.ReLU6
        layers: list[nn.Module] = [cbr(3, 32, 3, 2, act=act)]
        c = 32
        for t, cout, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                              (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
            for i in range(n):
                layers.append(InvertedResidual(c, cout, s if i == 0 else 1, t, act, se=v3))
                c = cout
        layers += [cbr(c, 1280, 1, act=act), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1280, 1000)]
        return nn.Sequential(*layers)

    return {"MobileNetV2 224 (full)": build(False), "MobileNetV2+SE+hswish 224": build(True)}


def _median_time(call: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def zoo_table(repeats: int = 7) -> None:
    """In-process, one thread: a warm trace at batch 1 of every zoo model (issue 9's 30 ms
    median) and of full-size mobile nets (a trace no slower than their CPU forward at batch 1)."""
    import torch

    sys.path.insert(0, str(ROOT / "tests"))
    from zoo import ZOO, build_right, make_inputs, trace_inputs

    from convwidget.tracer import trace, warm_up

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    warm_up()
    cases = [(name, build_right(e, e.shape), trace_inputs(e, e.shape, 1), make_inputs(e, e.shape, 1))
             for name, e in ZOO.items()]
    cases += [(name, model, ((1, 3, 224, 224), {}), ((torch.randn(1, 3, 224, 224),), {}))
              for name, model in _mobile_nets().items()]
    print(f"\nTrace vs forward, batch 1, one thread, warm: median of {repeats} calls")
    print(f"{'model':28s} {'trace':>9s} {'forward':>9s} {'ratio':>6s}")
    traced = []
    try:
        for name, model, (shapes, keywords), (args, kwargs) in cases:
            t = _median_time(lambda m=model, s=shapes, k=keywords: trace(m, s, inputs=k), repeats)
            with torch.no_grad():
                model.eval()
                f = _median_time(lambda m=model, a=args, k=kwargs: m(*a, **k), repeats)
            traced.append(t)
            print(f"{name:28s} {fmt_time(t):>9s} {fmt_time(f):>9s} {t / f:>5.1f}×")
    finally:
        torch.set_num_threads(threads)
    print(f"median trace over the {len(ZOO)} zoo models: "
          f"{fmt_time(statistics.median(traced[:len(ZOO)]))} (goal: <= 30 ms)")


def refusal_table() -> None:
    """In-process: the inputs that used to escape as PyTorch errors, now refused up front."""
    import warnings

    import torch
    from torch import nn

    from convwidget.tracer import trace

    sys.path.insert(0, str(ROOT / "tests"))
    from models import CifarNet

    warnings.filterwarnings("ignore", category=DeprecationWarning)  # torch.jit is deprecated
    cases = [
        ("input 1×3×2**40×2**40", lambda: CifarNet(), (1, 3, 2**40, 2**40)),
        ("input 2**70", lambda: nn.Flatten(), (2**70,)),
        ("torch.jit.script(model)", lambda: torch.jit.script(CifarNet()), (1, 3, 32, 32)),
        ("scripted submodule", lambda: nn.Sequential(torch.jit.script(nn.ReLU())), (1, 3)),
    ]
    print("\nRefused inputs (before: a RuntimeError/TypeError from PyTorch): time to the sentence, "
          "median of 20")
    for name, build, shape in cases:
        model = build()
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            try:
                trace(model, shape)
                what = "traced?!"
            except ValueError as err:
                what = str(err)[:60] + "…"
            times.append(time.perf_counter() - t0)
        print(f"{name:26s} {fmt_time(statistics.median(times)):>9s}  {what}")


def explorer_table() -> None:
    """In-process: a ModelExplorer size-slider move until the table and answer show it."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests"))
    from models import VGG, CifarNet, ResNet50  # noqa: F401

    from convwidget.modelexplorer import ModelExplorer
    from convwidget.tracer import input_size_range

    print("\nModelExplorer, in-process (no browser): slider value -> table, answer, problems "
          "updated; median of 30 moves")
    print(f"{'model':24s} {'slider move':>12s} {'+ConvExplorer open':>19s} {'size range':>11s}")
    for name, model, shape in (("CIFAR net 1×3×32×32", CifarNet(1024), (1, 3, 32, 32)),
                               ("VGG-16 1×3×224×224", VGG(device="meta"), (1, 3, 224, 224)),
                               ("ResNet-50 1×3×224×224", ResNet50(device="meta"),
                                (1, 3, 224, 224))):
        app = ModelExplorer(model, shape)
        moves = [shape[-1] + (i % 10) for i in range(30)]
        cols = []
        for open_layer in (False, True):
            if open_layer:
                app.layer.value = app.layer.options[1][1]
            times = []
            for v in moves:
                t0 = time.perf_counter()
                app.size_sliders[-1].value = v if v != app.size_sliders[-1].value else v + 1
                times.append(time.perf_counter() - t0)
            cols.append(statistics.median(times))
        t0 = time.perf_counter()
        input_size_range(model, shape)
        cols.append(time.perf_counter() - t0)
        print(f"{name:24s} {fmt_time(cols[0]):>12s} {fmt_time(cols[1]):>19s} "
              f"{fmt_time(cols[2]):>11s}")


if __name__ == "__main__":
    main()
