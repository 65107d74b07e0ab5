"""HTML: one self-contained file (no external assets) with a summary, a per-repository bar chart and a sortable table.

Styles, script and chart are inline; a Content-Security-Policy forbids the page from loading anything else.
The chart is SVG drawn here, so it shows without script; the script only sorts the table (click a header, or
open the file with ``#sort=COLUMN`` or ``#sort=-COLUMN``). Every value is escaped, and secrets are redacted
unless ``reveal``.
"""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import TextIO

from secretguard import __version__
from secretguard.findings import SEVERITY_ORDER, Finding, Origin, redact
from secretguard.hashing import SecretHasher
from secretguard.report import ScanSummary
from secretguard.report.text import describe, enrichment_label

CHART_REPOSITORIES = 25
LOCATIONS_SHOWN = 10
STATUS_ORDER = {"live": 0, "expired": 1, "mismatch": 2, "error": 3, "unchecked": 4, "canary": 5, "invalid": 6}
LIVE_COLOUR = "#b91c1c"
OTHER_COLOUR = "#d97706"

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1f2937;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}.muted{color:#6b7280}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{border:1px solid #e5e7eb;border-radius:8px;padding:10px 16px;min-width:110px}
.card b{display:block;font-size:22px}.card.live b{color:#b91c1c}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #e5e7eb;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f9fafb;cursor:pointer;user-select:none;white-space:nowrap}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
.sev{font-weight:600;text-transform:uppercase;font-size:12px}.sev-critical{color:#b91c1c}.sev-high{color:#dc2626}
.sev-medium{color:#d97706}.sev-low{color:#0891b2}.status-live{color:#fff;background:#b91c1c;border-radius:4px;padding:1px 6px}
ul.plain{margin:0;padding-left:18px}details summary{cursor:pointer}svg text{font:12px system-ui,sans-serif;fill:#374151}
"""  # noqa: E501

SCRIPT = """
(function () {
  var table = document.getElementById("findings");
  if (!table) return;
  var body = table.tBodies[0], heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  function value(row, i) { var c = row.cells[i]; return c.hasAttribute("data-sort") ? c.getAttribute("data-sort") : c.textContent; }
  function sortBy(key, desc) {
    var i = heads.findIndex(function (th) { return th.dataset.key === key; });
    if (i < 0) return;
    var rows = Array.prototype.slice.call(body.rows);
    var numeric = rows.every(function (r) { var v = value(r, i); return v !== "" && !isNaN(v); });
    rows.sort(function (a, b) {
      var x = value(a, i), y = value(b, i), c = numeric ? x - y : x.localeCompare(y);
      return desc ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    heads.forEach(function (th) { th.removeAttribute("aria-sort"); });
    heads[i].setAttribute("aria-sort", desc ? "descending" : "ascending");
    table.setAttribute("data-sorted", (desc ? "-" : "") + key);
  }
  table.tHead.addEventListener("click", function (event) {
    var th = event.target.closest("th");
    if (!th) return;
    var desc = th.getAttribute("aria-sort") === "ascending";
    try { history.replaceState(null, "", "#sort=" + (desc ? "-" : "") + th.dataset.key); } catch (e) {}
    sortBy(th.dataset.key, desc);
  });
  var wanted = /sort=(-?)([\\w-]+)/.exec(location.hash);
  if (wanted) sortBy(wanted[2], wanted[1] === "-");
})();
"""  # noqa: E501


def _status(finding: Finding) -> str:
    return str((finding.validation or {}).get("status", ""))


def _per_repository(findings: list[Finding]) -> list[tuple[str, int, int]]:
    """(repository, findings, live findings), most findings first."""
    total: Counter[str] = Counter()
    live: Counter[str] = Counter()
    for finding in findings:
        for repo in {o.repo or o.resource or "(no repository)" for o in finding.locations}:
            total[repo] += 1
            live[repo] += _status(finding) == "live"
    return [(repo, n, live[repo]) for repo, n in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))]


def _chart(rows: list[tuple[str, int, int]]) -> str:
    """A horizontal bar per repository (live part in red), as inline SVG."""
    if not rows:
        return '<p class="muted">No findings in any repository.</p>'
    shown = rows[:CHART_REPOSITORIES]
    label_w, bar_w, row_h = 360, 420, 26
    top = max(n for _, n, _ in shown)
    parts = [f'<svg id="repo-chart" role="img" aria-label="Findings per repository" width="{label_w + bar_w + 60}" '
             f'height="{row_h * len(shown) + 8}" xmlns="http://www.w3.org/2000/svg">']
    for i, (repo, n, live) in enumerate(shown):
        y = 4 + i * row_h
        width = max(2, round(bar_w * n / top))
        live_w = round(width * live / n) if n else 0
        name = repo if len(repo) <= 52 else "…" + repo[-51:]
        parts.append(
            f'<g class="bar" data-repo="{escape(repo)}" data-findings="{n}" data-live="{live}">'
            f"<title>{escape(repo)}: {n} finding{'s' if n != 1 else ''}, {live} live</title>"
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{width}" height="{row_h - 8}" fill="{OTHER_COLOUR}"/>'
            + (f'<rect class="live" x="{label_w}" y="{y + 3}" width="{live_w}" height="{row_h - 8}" '
               f'fill="{LIVE_COLOUR}"/>' if live_w else "")
            + f'<text x="{label_w + width + 6}" y="{y + 16}">{n}</text></g>')
    parts.append("</svg>")
    if len(rows) > len(shown):
        parts.append(f'<p class="muted">and {len(rows) - len(shown)} more repositories with findings.</p>')
    return "".join(parts)


def _row(finding: Finding, reveal: bool, fingerprint: str) -> str:
    shown = (lambda s: s) if reveal else redact
    secret = f"<code>{escape(shown(finding.secret))}</code>"
    if finding.pair is not None:
        secret += f"<br><code>+ {escape(shown(finding.pair.secret))}</code>"
    for name, value in finding.enrichment.items():
        secret += f'<br><span class="muted">{escape(enrichment_label(name))} {escape(value)}</span>'
    status = _status(finding)
    status_cell = f'<span class="status-{escape(status)}">{escape(status)}</span>' if status else ""
    if status and (finding.validation or {}).get("arn"):
        status_cell += f'<br><code>{escape(str(finding.validation["arn"]))}</code>'  # type: ignore[index]
    if (finding.validation or {}).get("respond"):
        status_cell += f'<br><span class="muted">{escape(str(finding.validation["respond"]))}</span>'  # type: ignore[index]
    triage = finding.recorded.triage if finding.recorded is not None else None
    if triage:
        status_cell += f'<br><span class="muted">triaged: {escape(triage["status"])}</span>'
    origins = sorted(finding.locations, key=Origin.sort_key)
    repos = sorted({o.repo or o.resource or "" for o in origins} - {""})
    items = "".join(f"<li>{escape(describe(o))}</li>" for o in origins[:LOCATIONS_SHOWN])
    if len(origins) > LOCATIONS_SHOWN:
        items += f"<li>… and {len(origins) - LOCATIONS_SHOWN} more</li>"
    first_seen = min((o.date for o in origins if o.date), default="")
    return (
        f'<tr data-fingerprint="{fingerprint}">'
        f'<td data-sort="{SEVERITY_ORDER.get(finding.severity, 9)}"><span class="sev sev-{escape(finding.severity)}">'
        f"{escape(finding.severity)}</span></td>"
        f"<td>{escape(finding.rule)}</td><td>{secret}</td>"
        f'<td data-sort="{STATUS_ORDER.get(status, 9)}">{status_cell}</td>'
        f'<td data-sort="{escape(repos[0] if repos else "")}"><ul class="plain">'
        + "".join(f"<li>{escape(r)}</li>" for r in repos) + "</ul></td>"
        f'<td data-sort="{len(origins)}"><details><summary>{len(origins)}</summary><ul class="plain">{items}</ul>'
        f"</details></td><td>{escape(first_seen[:10])}</td>"
        f"<td><code>{fingerprint[:12]}</code></td></tr>")


def write_html(findings: list[Finding], out: TextIO, summary: ScanSummary, reveal: bool,
               hasher: SecretHasher) -> None:
    per_repo = _per_repository(findings)
    severities = Counter(f.severity for f in findings)
    live = sum(_status(f) == "live" for f in findings)
    cards = [("findings", len(findings), ""), ("live keys", live, " live" if live else ""),
             *((s, severities[s], "") for s in SEVERITY_ORDER if severities[s]),
             ("repositories with findings", len(per_repo), ""),
             (summary.source or "scanned", summary.scanned, ""),
             ("MB scanned", f"{summary.scanned_bytes / 1e6:.1f}", "")]
    title = f"secretguard report: {summary.target}" if summary.target else "secretguard report"
    out.write(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'\">"
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="muted">secretguard {__version__}'
        + ("" if reveal else " · secrets redacted") + "</p>"
        '<section id="summary"><div class="cards">'
        + "".join(f'<div class="card{cls}" data-card="{escape(name)}"><b>{value}</b>{escape(name)}</div>'
                  for name, value, cls in cards)
        + "</div>")
    if summary.notes:
        out.write("<details><summary>Totals</summary><ul>"
                  + "".join(f"<li>{escape(note)}</li>" for note in summary.notes) + "</ul></details>")
    if summary.skipped or summary.unreadable:
        listed = summary.unreadable + summary.skipped
        out.write(f'<details id="skipped"><summary>{len(listed)} skipped or failed</summary><ul>'
                  + "".join(f"<li><code>{escape(p)}</code>: {escape(r)}</li>" for p, r in listed)
                  + "</ul></details>")
    out.write(f"</section><h2>Findings per repository</h2>{_chart(per_repo)}<h2>Findings</h2>")
    if findings:
        headers = [("severity", "Severity"), ("rule", "Rule"), ("secret", "Secret"), ("validation", "Validation"),
                   ("repository", "Repository"), ("locations", "Locations"), ("first-seen", "First seen"),
                   ("fingerprint", "Fingerprint")]
        out.write('<table id="findings"><thead><tr>'
                  + "".join(f'<th data-key="{key}" title="Sort by {label.lower()}">{label}</th>'
                            for key, label in headers)
                  + "</tr></thead><tbody>" + "".join(_row(f, reveal, f.fingerprint(hasher)) for f in findings)
                  + "</tbody></table>")
    else:
        out.write('<p class="muted">No secrets found.</p>')
    out.write(f"<script>{SCRIPT}</script></body></html>\n")
