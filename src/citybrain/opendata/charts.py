"""Small bar charts as inline SVG, drawn on the server: no JavaScript library, nothing fetched, readable
by screen readers (a <title>, a <desc> summarising the data, and a <title> on every bar)."""

from __future__ import annotations

from markupsafe import Markup, escape


def bar_chart(chart_id: str, title: str, bins: list[tuple[str, int]], *, width: int = 560, height: int = 200) -> Markup:
    if not bins:
        return Markup("")
    top = max(n for _, n in bins) or 1
    pad_left, pad_bottom, pad_top = 44, 36, 12
    inner_w = width - pad_left - 8
    inner_h = height - pad_bottom - pad_top
    step = inner_w / len(bins)
    bar_w = max(step * 0.72, 1.0)
    label_every = max(1, len(bins) // 8)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{chart_id}-t {chart_id}-d"'
        ' xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape("；".join(f"{k}：{n}" for k, n in bins))}</desc>',
        f'<line x1="{pad_left}" y1="{pad_top + inner_h}" x2="{width - 8}" y2="{pad_top + inner_h}" class="axis"/>',
        f'<text x="{pad_left - 6}" y="{pad_top + 10}" text-anchor="end" class="tick">{top:,}</text>',
        f'<text x="{pad_left - 6}" y="{pad_top + inner_h}" text-anchor="end" class="tick">0</text>',
    ]
    for i, (label, n) in enumerate(bins):
        h = inner_h * n / top
        x = pad_left + i * step + (step - bar_w) / 2
        y = pad_top + inner_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" class="bar">'
            f"<title>{escape(label)}：{n:,}</title></rect>"
        )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - pad_bottom + 16}" text-anchor="middle" class="tick">'
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))
