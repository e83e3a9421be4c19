"""Small inline SVG charts for the HTML report: no JavaScript, no files, no network."""

from __future__ import annotations

from html import escape

PALETTE = ("#8a94a6", "#2f6fdf")  # live (grey), shadow (blue)
COLOURS = {"live": PALETTE[0], "shadow": PALETTE[1]}


def grouped_bars(categories: list[str], series: dict[str, list[float]], *, element_id: str, title: str,
                 width: int = 640, height: int = 260, max_value: float = 1.0) -> str:
    """Bars of each series side by side per category (values in [0, max_value]), with a legend."""
    left, bottom, top = 40, 40, 30
    plot_w, plot_h = width - left - 10, height - bottom - top
    group_w = plot_w / max(1, len(categories))
    bar_w = group_w * 0.8 / max(1, len(series))
    parts = [f'<svg id="{escape(element_id)}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
             f' viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f'<title>{escape(title)}</title>', f'<rect width="{width}" height="{height}" fill="#ffffff"/>']
    for i in range(5):
        value = max_value * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6eb"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{value:.2g}</text>')
    for c, category in enumerate(categories):
        x0 = left + c * group_w + group_w * 0.1
        for s, (name, values) in enumerate(series.items()):
            value = max(0.0, min(max_value, values[c]))
            h = plot_h * value / max_value if max_value else 0
            x = x0 + s * bar_w
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}"'
                         f' height="{h:.1f}" fill="{COLOURS.get(name, PALETTE[s % len(PALETTE)])}">'
                         f'<title>{escape(name)} {escape(category)}: {values[c]:.4f}</title></rect>')
            parts.append(f'<text x="{x + bar_w / 2 - 1:.1f}" y="{top + plot_h - h - 3:.1f}" font-size="9"'
                         f' text-anchor="middle">{values[c]:.3f}</text>')
        parts.append(f'<text x="{left + c * group_w + group_w / 2:.1f}" y="{height - bottom + 16}" font-size="11"'
                     f' text-anchor="middle">{escape(category)}</text>')
    for s, name in enumerate(series):
        x = left + s * 110
        parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{COLOURS.get(name, PALETTE[s % len(PALETTE)])}"/>')
        parts.append(f'<text x="{x + 16}" y="18" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def histogram(edges: list[float], counts: list[int], *, element_id: str, title: str, xlabel: str,
              width: int = 640, height: int = 220) -> str:
    """A histogram from bin edges (len(counts) + 1 of them) and counts."""
    left, bottom, top = 40, 40, 15
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max(counts, default=0) or 1
    parts = [f'<svg id="{escape(element_id)}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
             f' viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f'<title>{escape(title)}</title>', f'<rect width="{width}" height="{height}" fill="#ffffff"/>']
    bar_w = plot_w / max(1, len(counts))
    for i, count in enumerate(counts):
        h = plot_h * count / peak
        x = left + i * bar_w
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{max(bar_w - 1, 1):.1f}"'
                     f' height="{h:.1f}" fill="{PALETTE[1]}"><title>[{edges[i]:g}, {edges[i + 1]:g}): {count}'
                     f'</title></rect>')
    for i in range(0, len(edges), max(1, len(edges) // 8)):
        parts.append(f'<text x="{left + i * bar_w:.1f}" y="{top + plot_h + 14}" font-size="10"'
                     f' text-anchor="middle">{edges[i]:g}</text>')
    parts.append(f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end">{peak}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" font-size="11" text-anchor="middle">'
                 f'{escape(xlabel)}</text>')
    parts.append("</svg>")
    return "".join(parts)
