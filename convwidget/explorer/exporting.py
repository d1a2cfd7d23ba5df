"""The explorer's export buttons: a GIF or an HTML player offered as a browser download.

Nothing is written where the kernel runs (under Voila that is the served folder, which any
visitor could fill): the file is made in memory and handed to the browser as a
``<a download=... href="data:...">`` link, up to :data:`MAX_LINK_BYTES`; a bigger file gets
a sentence saying how to write it from a cell instead.

>>> from convwidget.geometry import layer_geometry
>>> link = export_link(layer_geometry("conv", (3, 3), kernel_size=2), "html", "pass.html")
>>> link.startswith("<a download='pass.html' href='data:text/html;base64,")
True
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable
from typing import Any

from ..geometry import Geometry

__all__ = ["MAX_LINK_BYTES", "export_bytes", "export_link", "export_name", "link_html"]

#: The largest file offered as a data: link (the page holds it in base64, a third bigger).
MAX_LINK_BYTES = 8 * 2**20

_MIME = {"gif": "image/gif", "html": "text/html"}

Progress = Callable[[int, int], Any] | None


def export_bytes(geometry: Geometry, ext: str, progress: Progress = None) -> tuple[bytes, str | None]:
    """The GIF or the HTML page for ``geometry`` as bytes (nothing written), and its note."""
    from ..export import to_gif, to_html

    result = (to_gif if ext == "gif" else to_html)(geometry, progress=progress)
    assert result.data is not None  # no path: the bytes
    return result.data, result.note


def export_name(settings: dict[str, Any], ext: str) -> str:
    """The file name a download gets: the setting in short.

    >>> export_name({"kind": "conv", "input_size": (5, 5), "kernel_size": (3, 3), "stride": (2, 2),
    ...              "padding": "same", "dilation": (1, 1)}, "gif")
    'convwidget_conv_5x5_k3x3_s2x2_psame_d1x1.gif'
    """
    s = settings
    pad = s["padding"] if isinstance(s["padding"], str) else "x".join(map(str, s["padding"]))
    stem = (f"convwidget_{s['kind']}_{'x'.join(map(str, s['input_size']))}"
            f"_k{'x'.join(map(str, s['kernel_size']))}_s{'x'.join(map(str, s['stride']))}"
            f"_p{pad}_d{'x'.join(map(str, s['dilation']))}")
    return re.sub(r"[^A-Za-z0-9_.-]", "", stem) + "." + ext


def link_html(data: bytes, ext: str, name: str, note: str | None = None) -> str:
    """A download link carrying ``data`` (or, over :data:`MAX_LINK_BYTES`, why there is none).

    >>> link_html(b"GIF89a", "gif", "a.gif")
    "<a download='a.gif' href='data:image/gif;base64,R0lGODlh'>⬇ download a.gif</a> (0 KiB)"
    >>> link_html(bytes(9 * 2**20), "gif", "a.gif")[:59]
    'a.gif would be 9.0 MiB, more than the 8 MiB a download link'
    """
    safe = html.escape(name, quote=True)
    extra = f" <i>{html.escape(str(note))}</i>" if note else ""
    if len(data) > MAX_LINK_BYTES:
        return (f"{safe} would be {len(data) / 2**20:.1f} MiB, more than the "
                f"{MAX_LINK_BYTES // 2**20} MiB a download link carries: write it from a cell "
                f"with <code>convwidget.export.to_{ext}(explorer.figure.geometry, '{safe}')</code> "
                f"or choose a smaller setting.{extra}")
    encoded = base64.b64encode(data).decode("ascii")
    return (f"<a download='{safe}' href='data:{_MIME[ext]};base64,{encoded}'>⬇ download {safe}</a> "
            f"({len(data) / 1024:.0f} KiB){extra}")


def export_link(geometry: Geometry, ext: str, name: str, progress: Progress = None) -> str:
    """Make the export in memory and return the download link's HTML."""
    data, note = export_bytes(geometry, ext, progress)
    return link_html(data, ext, name, note)
