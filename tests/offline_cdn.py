"""The CDN files a static HTML export of a widget notebook loads, served from npm packages.

``jupyter nbconvert --to html`` with the widget state writes a page that loads require.js
from cdnjs, ``@jupyter-widgets/html-manager``'s ``embed-amd.js`` from unpkg, and each
third-party widget module (anywidget) from jsdelivr. These machines reach no CDN, only the
package registries: :func:`npm_package` fetches a package with ``npm pack`` (once: the
unpacked package is kept in tests/artifacts/npm-cache/) and :class:`OfflineCdn` answers the
page's CDN requests from those files through Playwright routes.

Imported by ``tests/test_static_export_browser.py`` (tests/ is on sys.path: there is no package).
"""

from __future__ import annotations

import mimetypes
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from browser import ARTIFACTS

CACHE = ARTIFACTS / "npm-cache"
#: the hosts a static export reaches for; anything not served from a package is aborted
CDN_HOSTS = ("https://cdnjs.cloudflare.com/", "https://unpkg.com/", "https://cdn.jsdelivr.net/")


class NpmUnavailable(RuntimeError):
    """npm is missing or the registry did not hand out the package (the message says which)."""


def npm_package(name: str, version: str, cache: Path = CACHE, timeout_s: float = 120) -> Path:
    """The unpacked npm package ``name@version`` (an exact version): its ``package`` folder.

    Fetched with ``npm pack`` the first time, then read from ``cache``; raises
    :class:`NpmUnavailable` with the reason when npm or the registry cannot give it.
    """
    target = cache / f"{name.replace('/', '__')}@{version}"
    if (target / "package" / "package.json").is_file():
        return target / "package"
    npm = shutil.which("npm")
    if npm is None:
        raise NpmUnavailable(f"npm is not installed, so {name}@{version} cannot be fetched "
                             "(apt-get install -y npm)")
    cache.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false",
           "npm_config_audit": "false", "npm_config_fetch_retries": "1",
           "npm_config_fetch_timeout": "30000"}
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        try:
            proc = subprocess.run([npm, "pack", f"{name}@{version}", "--pack-destination", tmp],
                                  capture_output=True, text=True, timeout=timeout_s, env=env, cwd=tmp)
        except subprocess.TimeoutExpired:
            raise NpmUnavailable(f"npm pack {name}@{version} took over {timeout_s:.0f} s "
                                 "(is the npm registry reachable?)") from None
        tarballs = list(Path(tmp).glob("*.tgz"))
        if proc.returncode != 0 or len(tarballs) != 1:
            lines = [line.removeprefix("npm error").strip() for line in proc.stderr.splitlines()]
            said = [line for line in lines if line.startswith(("code ", "FetchError", "notarget", "404"))][:3]
            raise NpmUnavailable(f"npm pack {name}@{version} failed (exit {proc.returncode}): "
                                 + ("; ".join(said) or proc.stderr.strip()[-300:]))
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(tarballs[0]) as tar:
            tar.extractall(unpacked, filter="data")
        if not (unpacked / "package" / "package.json").is_file():
            raise NpmUnavailable(f"the tarball of {name}@{version} holds no package/package.json")
        if not target.exists():
            os.replace(unpacked, target)  # whole or not at all: a run stopped midway leaves no half
    return target / "package"


def script_urls(html: str) -> list[str]:
    """The CDN addresses the exported page names (its ``<script src>`` and the html-manager
    address its loader script builds)."""
    found = re.findall(r"""(https://(?:cdnjs\.cloudflare\.com|unpkg\.com|cdn\.jsdelivr\.net)/[^"' <>]+)""",
                       html)
    return list(dict.fromkeys(found))


@dataclass
class OfflineCdn:
    """Answers a page's CDN requests from unpacked npm packages.

    ``requirejs``, ``html_manager``, ``modules``: the ``package`` folders of require.js,
    ``@jupyter-widgets/html-manager`` and of each widget module jsdelivr would serve (npm
    name -> folder). :attr:`served` and :attr:`refused` list the URLs asked for.
    """

    requirejs: Path
    html_manager: Path
    modules: dict[str, Path]
    served: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def file_for(self, url: str) -> Path | None:
        path = url.split("?", 1)[0]
        if path.startswith("https://cdnjs.cloudflare.com/ajax/libs/require.js/"):
            return self.requirejs / "require.js"  # the unminified file of the same version
        match = re.match(r"https://unpkg\.com/@jupyter-widgets/html-manager@[^/]*/dist/(.+)$", path)
        if match:
            return self.html_manager / "dist" / match.group(1)
        match = re.match(r"https://cdn\.jsdelivr\.net/npm/((?:@[^/]+/)?[^@/]+)@[^/]*/(dist/.+)$", path)
        if match and match.group(1) in self.modules:
            return self.modules[match.group(1)] / match.group(2)
        return None

    def route(self, page: Any) -> None:
        """Serve the CDN hosts' files to ``page``; abort (and record) anything else there."""
        for host in CDN_HOSTS:
            page.route(host + "**", self._answer)

    def _answer(self, route: Any, request: Any) -> None:
        file = self.file_for(request.url)
        if file is None or not file.is_file():
            self.refused.append(request.url)
            route.abort()
            return
        self.served.append(request.url)
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        route.fulfill(status=200, body=file.read_bytes(),
                      headers={"content-type": kind, "access-control-allow-origin": "*"})
