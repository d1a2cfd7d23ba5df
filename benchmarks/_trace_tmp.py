import json, sys, tempfile, os
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import bench_browser as bb
setup = Path(sys.argv[1]).read_text() if len(sys.argv) > 1 else ""
with tempfile.TemporaryDirectory() as tmp:
    lab = bb.start_lab(Path(tmp))
    try:
        with bb.chromium() as browser:
            context = browser.new_context(viewport={"width": 1600, "height": 1400})
            context.set_default_timeout(60_000)
            page = context.new_page()
            top = bb.open_size(page, lab, 32, True, setup)
            root, handle = bb.IPYMPL_TARGETS["ConvExplorer"]
            seq = bb.sweep(top, 8)
            for key, k in seq[:4]:
                out = 32 + 2 * bb.PADDING - k + 1
                print(bb.measure(page, root, handle, key, f"{out} × {out}"))
                page.wait_for_timeout(150)
            browser.start_tracing(page=page, path=f"{tmp}/trace.json", categories=[
                "devtools.timeline", "disabled-by-default-devtools.timeline", "v8.execute", "blink", "loading", "toplevel"])
            for key, k in seq[4:7]:
                out = 32 + 2 * bb.PADDING - k + 1
                print(bb.measure(page, root, handle, key, f"{out} × {out}"))
                page.wait_for_timeout(300)
            browser.stop_tracing()
            Path("/tmp/prof/trace.json").write_bytes(Path(f"{tmp}/trace.json").read_bytes())
            context.close()
    finally:
        bb.stop_lab(lab)
