"""`make screenshots`: a gallery of every page and tab, on the sample and on real or thin data, for people to look at.

Usage: python -m tools.screenshots [--out test-output/gallery] [--data sample,taobao,thin]

- sample: the warehouse `make run` serves (`$SHOPLENS_WAREHOUSE`, else .shoplens/warehouse.duckdb);
- taobao: the Taobao UserBehavior excerpt in ../shared/data imported into a scratch warehouse (skipped, with a
  note, where the file is absent);
- thin: the sample's last two hours (tests/thin_shop.py), which needs no shared data.

Every page and tab is opened in a fresh browser session at 1440×900 and saved whole; `index.html` lists
them with the problems each page had (exception boxes, console errors, requests to other hosts) and the
seconds it took to settle.
"""

from __future__ import annotations

import argparse
import html
import sys
import tempfile
from pathlib import Path

from tools.browser import REPO_ROOT, chromium_browser, dashboard_server, visit_page

TAOBAO = REPO_ROOT.parent / "shared" / "data" / "taobao_userbehavior_excerpt" / "userbehavior_excerpt.csv.gz"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.screenshots", allow_abbrev=False,
                                     description="Screenshot every page and tab of the dashboard.")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "test-output" / "gallery")
    parser.add_argument("--data", default="sample,taobao,thin", help="comma-separated: sample, taobao, thin")
    arguments = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="shoplens-gallery-"))
    rows: list[tuple[str, str, float, list[str], Path]] = []
    with chromium_browser() as browser:
        for data in [name.strip() for name in arguments.data.split(",") if name.strip()]:
            warehouse = _warehouse(data, scratch)
            if warehouse is None:
                print(f"{data}: skipped ({TAOBAO} is absent)", file=sys.stderr)
                continue
            with dashboard_server(warehouse, scratch / f"{data}.log") as url:
                for spec in _pages(warehouse):
                    for shot in visit_page(browser, url, spec, arguments.out / data, start=data == "sample"):
                        rows.append((data, shot.name, shot.seconds, shot.problems, shot.path))
                        status = "ok" if not shot.problems else "; ".join(shot.problems)[:200]
                        print(f"{data:7} {shot.name:40} {shot.seconds:6.1f} s  {status}", file=sys.stderr)
    _write_index(arguments.out, rows)
    print(f"gallery: {arguments.out / 'index.html'}")
    return 1 if any(problems for *_, problems, _ in rows) else 0


def _warehouse(data: str, scratch: Path) -> Path | None:
    from analytics.warehouse import build_warehouse, default_warehouse_path

    if data == "sample":
        return default_warehouse_path().resolve()
    if data == "thin":
        from tests.thin_shop import write_thin_shop

        target = scratch / "thin.duckdb"
        build_warehouse(write_thin_shop(scratch / "thin-source"), target)
        return target
    if data == "taobao":
        if not TAOBAO.is_file():
            return None
        from analytics.importing import get_preset, import_files

        target = scratch / "taobao.duckdb"
        import_files([TAOBAO], get_preset("taobao"), target)
        return target
    raise SystemExit(f"unknown data {data!r}; choose sample, taobao or thin")


def _pages(warehouse: Path) -> list:
    from analytics.warehouse import inspect_warehouse
    from dashboard.navigation import available_pages

    return [spec for specs in available_pages(inspect_warehouse(warehouse)).values() for spec in specs]


def _write_index(out: Path, rows: list[tuple[str, str, float, list[str], Path]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    items = []
    for data, name, seconds, problems, path in rows:
        note = "<br>".join(html.escape(problem) for problem in problems) or "no problems"
        items.append(f'<figure><figcaption><b>{html.escape(data)} · {html.escape(name)}</b> · {seconds:.1f} s · '
                     f'{note}</figcaption><a href="{html.escape(str(path.relative_to(out)))}">'
                     f'<img src="{html.escape(str(path.relative_to(out)))}" width="720"></a></figure>')
    (out / "index.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>ShopLens screenshots</title>"
        "<style>body{font-family:sans-serif} figure{display:inline-block;margin:12px;vertical-align:top}"
        "img{border:1px solid #ccc}</style>" + "".join(items), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
