"""Open every page of the built book in headless Chromium, as a reader would, and fail on
what a reader must never see.

    python scripts/check_book.py [--html _build/html] [--screenshots _build/screenshots]
                                 [--chromium /usr/bin/chromium]

The pages are served from localhost (the book is static HTML) and driven by Playwright
pointed at Debian's Chromium (``apt-get install chromium``; no browser download). Each
page fails on:

- error or stderr output blocks, and tracebacks;
- machine paths (``/root/``, ``/home/``, ``/work/``, ``/tmp/``, ``site-packages``,
  ``.venv``) anywhere in the HTML;
- images that do not load, and figures without a numbered caption or alt text;
- internal links to a page or anchor that does not exist;
- maths that MathJax did not render (raw ``\\(``, ``\\[`` or ``$$`` left in the text);
- code or printed output wider than its box (cut off for the reader);
- audio players without playable data.

A full-page screenshot of each page goes to the screenshots folder. Exit status 1 lists
every problem by page.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
MACHINE_PATH = re.compile(r"/(?:root|home|work|tmp)/[\w.-]|site-packages|\.venv/")
SKIPPED_PAGES = {"genindex.html", "search.html", "py-modindex.html"}
# the book theme logs this on a reader's first visit (no colour mode stored yet); it then
# uses its default and nothing shows on the page
BENIGN_CONSOLE = ("Got invalid theme mode",)

# runs in the page: everything the checks need, as plain data
INSPECT = r"""
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const audio = [...document.querySelectorAll("audio")];
  await Promise.all(audio.map(a => a.readyState >= 1 ? null : new Promise(done => {
    a.addEventListener("loadedmetadata", done, {once: true});
    a.addEventListener("error", done, {once: true});
    a.load();
    setTimeout(done, 5000);
  })));
  const visible = node => !node.closest("pre, code, .highlight, script, style, mjx-container");
  const walker = document.createTreeWalker(document.querySelector("main") || document.body,
                                           NodeFilter.SHOW_TEXT);
  const rawMath = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (visible(node.parentElement) && /\\\(|\\\[|\$\$/.test(node.textContent)) {
      rawMath.push(node.textContent.trim().slice(0, 80));
    }
  }
  const main = document.querySelector("main") || document.body;
  return {
    errorBlocks: [...main.querySelectorAll(
      ".output.stderr, .output.error, .output.traceback, div.stderr, div.traceback"
    )].map(e => e.textContent.trim().slice(0, 120)),
    tracebacks: (main.innerText.match(/Traceback \(most recent call last\)/g) || []).length,
    images: [...main.querySelectorAll("img")].map(i => ({
      src: i.getAttribute("src"), alt: i.getAttribute("alt") || "",
      loaded: i.complete && i.naturalWidth > 0,
      inFigure: !!i.closest("figure"),
      caption: (i.closest("figure")?.querySelector("figcaption")?.innerText || "").trim(),
    })),
    links: [...document.querySelectorAll("a[href]")].map(a => a.getAttribute("href")),
    ids: [...document.querySelectorAll("[id]")].map(e => e.id),
    rawMath,
    // code or printed output wider than its box: the reader sees it cut off
    overflowing: [...main.querySelectorAll("pre")].filter(p => p.scrollWidth > p.clientWidth + 1)
      .map(p => p.textContent.split("\n").reduce((a, b) => a.length >= b.length ? a : b)
      .slice(0, 90)),
    mathElements: main.querySelectorAll(".math").length,
    renderedMath: main.querySelectorAll("mjx-container").length,
    audio: audio.map(a => ({src: (a.currentSrc || a.src || "").slice(0, 40),
                            duration: a.duration, error: a.error ? a.error.code : null})),
  };
}
"""


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """A quiet static file server on a free localhost port."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def page_problems(facts: dict, html: str, page: Path, root: Path,
                  ids_of: dict[Path, set[str]]) -> list[str]:
    """Everything wrong with one page, as sentences."""
    problems = [f"error/stderr output: {text!r}" for text in facts["errorBlocks"]]
    if facts["tracebacks"]:
        problems.append(f"{facts['tracebacks']} traceback(s) in the text")
    problems += [f"machine path in the HTML: {match.group(0)!r} near "
                 f"{html[max(0, match.start() - 40):match.end() + 20]!r}"
                 for match in list(MACHINE_PATH.finditer(html))[:3]]
    for image in facts["images"]:
        if not image["loaded"]:
            problems.append(f"image does not load: {image['src']}")
        if not image["inFigure"] or not re.match(r"(Fig\.|Figure) \d", image["caption"]):
            problems.append(f"image without a numbered caption: {image['src']}")
        if not image["alt"] or image["alt"] == image["src"] or "/" in image["alt"]:
            problems.append(f"image without meaningful alt text: {image['src']}")
    for href in facts["links"]:
        problem = broken_link(href, page, root, ids_of)
        if problem:
            problems.append(problem)
    problems += [f"unrendered maths: {text!r}" for text in facts["rawMath"]]
    problems += [f"line wider than its box: {text!r}" for text in facts.get("overflowing", [])]
    if facts["mathElements"] and not facts["renderedMath"]:
        problems.append(f"{facts['mathElements']} maths elements and none rendered by MathJax")
    for audio in facts["audio"]:
        if audio["error"] is not None or not (audio["duration"] or 0) > 0:
            problems.append(f"audio player without playable data: {audio['src']!r}")
    return problems


def broken_link(href: str, page: Path, root: Path, ids_of: dict[Path, set[str]]) -> str | None:
    parsed = urlparse(href)
    if parsed.scheme or parsed.netloc or href.startswith(("mailto:", "javascript:")):
        return None                                     # external: not ours to check
    target = (page.parent / unquote(parsed.path)).resolve() if parsed.path else page
    if target.is_dir():
        target = target / "index.html"
    if not target.is_file() or root not in target.parents:
        return f"broken link: {href}"
    if parsed.fragment and target.suffix == ".html":
        ids = ids_of.setdefault(target, set(re.findall(
            r'\bid="([^"]+)"', target.read_text(encoding="utf-8", errors="replace"))))
        if parsed.fragment not in ids:
            return f"broken anchor: {href}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=REPO / "_build/html")
    parser.add_argument("--screenshots", type=Path, default=REPO / "_build/screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    root = args.html.resolve()
    if not (root / "index.html").is_file():
        print(f"{root}: no built book here (run `make book` first)", file=sys.stderr)
        return 2
    if not Path(args.chromium).is_file():
        print(f"{args.chromium}: no Chromium (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    pages = sorted(p for p in root.rglob("*.html")
                   if p.name not in SKIPPED_PAGES and "_static" not in p.parts)
    args.screenshots.mkdir(parents=True, exist_ok=True)
    server, base = serve(root)
    failures: dict[str, list[str]] = {}
    ids_of: dict[Path, set[str]] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium,
                                                 args=CHROMIUM_FLAGS)
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            console_errors: list[str] = []
            tab.on("console", lambda message: console_errors.append(message.text)
                   if message.type == "error" else None)
            # The console says only "404"; the response names the missing file.
            tab.on("response", lambda response: console_errors.append(
                f"HTTP {response.status} for {response.url.removeprefix(base)}")
                if response.status >= 400 else None)
            for page in pages:
                name = page.relative_to(root).as_posix()
                if 'http-equiv="Refresh"' in page.read_text(encoding="utf-8")[:2000]:
                    print(f"{name}: a redirect, checked where it leads")
                    continue
                console_errors.clear()
                tab.goto(f"{base}/{name}", wait_until="networkidle")
                facts = tab.evaluate(INSPECT)
                problems = page_problems(facts, page.read_text(encoding="utf-8"), page, root,
                                         ids_of)
                problems += [f"browser console error: {text[:120]}" for text in console_errors
                             if not text.startswith(BENIGN_CONSOLE)]
                tab.screenshot(path=str(args.screenshots / f"{name.replace('/', '_')}.png"),
                               full_page=True)
                status = "ok" if not problems else f"{len(problems)} problem(s)"
                print(f"{name}: {status} ({len(facts['images'])} images, "
                      f"{facts['renderedMath']} maths, {len(facts['audio'])} audio players)")
                if problems:
                    failures[name] = problems
            browser.close()
    finally:
        server.shutdown()
    for name, problems in failures.items():
        print(f"\n{name}:")
        for problem in problems:
            print(f"  - {problem}")
    print(f"\nscreenshots in {args.screenshots}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
