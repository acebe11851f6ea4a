"""Milliseconds per rendered document for both demo templates, against a bare reportlab baseline.

The baseline is a plain Platypus document of the same text (one paragraph per line, no header,
footer, page count, tables or signature boxes), built in the same run, so the ratio shows what
evaluation, layout and decoration cost. Usage: python bench/render.py [--documents N]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph, SimpleDocTemplate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connector.templates.definition import parse_definition
from connector.templates.demo import demo_definition
from connector.templates.document import document_items, plain_text
from connector.templates.evaluate import evaluate
from connector.templates.render_pdf import PageDecor, render_pdf

CASES = {
    "saas_amendment.yaml": {
        "plan": "enterprise",
        "seats": 25,
        "customer_company": "Initech",
        "customer_name": "Peter Gibbons",
        "effective_date": "2026-12-01",
    },
    "telehealth_consent.yaml": {
        "patient_name": "Ana Lima",
        "patient_age": 16,
        "clinician": "Dr. Ruiz",
        "patient_email": "ana@example.com",
    },
}
DECOR = PageDecor(org_name="Demo Company", title="Benchmark", footer="Envelope 00000000-bench")


def timed(build: Callable[[], bytes], count: int) -> list[float]:
    build()  # warm-up: font loading, caches
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        build()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def bare(text: str) -> bytes:
    buffer = io.BytesIO()
    style = getSampleStyleSheet()["BodyText"]
    SimpleDocTemplate(buffer).build([Paragraph(line, style) for line in text.splitlines() if line])
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=50)
    args = parser.parse_args()
    print(f"{args.documents} documents each; median milliseconds per document")
    print(f"{'template':<26}{'countersign':>12}{'bare':>9}{'ratio':>8}")
    for filename, values in CASES.items():
        definition = parse_definition(demo_definition(filename))

        def full(definition=definition, values=values) -> bytes:  # evaluate + lay out + draw
            return render_pdf(document_items(evaluate(definition, values)), DECOR).pdf

        text = plain_text(document_items(evaluate(definition, values)))
        ours = statistics.median(timed(full, args.documents))
        baseline = statistics.median(timed(lambda text=text: bare(text), args.documents))
        name = filename.removesuffix(".yaml")
        print(f"{name:<26}{ours:>12.2f}{baseline:>9.2f}{ours / baseline:>7.1f}x")


if __name__ == "__main__":
    main()
