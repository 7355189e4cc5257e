"""The atlas front end: assets built by npm (web/ at the repository root) into static/build/, served by the app."""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
BUILD_DIR = STATIC_DIR / "build"

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>econet atlas: assets not built</title>
<style>body{font-family:sans-serif;max-width:40em;margin:3em auto;line-height:1.5}code{background:#eee;padding:0 .3em}</style>
</head><body>
<h1>The econet atlas assets are not built</h1>
<p>The web atlas is a JavaScript application built with npm (Node.js 20 or newer). Build it once in the
repository, then reload this page:</p>
<pre><code>make web</code></pre>
<p>or by hand: <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code> (writes <code>src/econet/web/static/build/</code>).</p>
<p>The API works without the atlas: see <a href="/docs">/docs</a> and <a href="/api/v1/layers">/api/v1/layers</a>.</p>
</body></html>
"""


def atlas_built() -> bool:
    """True when the npm build has written the atlas page and script."""
    return (BUILD_DIR / "index.html").is_file() and (BUILD_DIR / "atlas.js").is_file()


def index_html() -> tuple[str, bool]:
    """The atlas page and whether it is the real one (else a page saying how to build it)."""
    if atlas_built():
        return (BUILD_DIR / "index.html").read_text(encoding="utf-8"), True
    return NOT_BUILT, False
