# SPDX-License-Identifier: Apache-2.0
"""The documentation: the generated results page is current, relative links resolve."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'benchmarks' / 'results_page.py'
PAGES = [ROOT / 'README.md'] + sorted((ROOT / 'docs').glob('**/*.md'))
LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)\)')
"""A Markdown link or image: [text](target)."""


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, check=False, cwd=ROOT)


def _outside_code(text: str) -> str:
    """Return the text without fenced code blocks and inline code spans."""
    text = re.sub(r'^```.*?^```', '', text, flags=re.DOTALL | re.MULTILINE)
    return re.sub(r'`[^`\n]*`', '', text)


def _anchors(text: str) -> set[str]:
    """Return GitHub's heading anchors: lower case, punctuation dropped, spaces -> '-'."""
    headings = re.findall(r'^#+ (.+)$', _outside_code(text), flags=re.MULTILINE)
    return {re.sub(r'[^\w\- ]', '', heading.strip().lower()).replace(' ', '-')
            for heading in headings}


def test_results_page_is_generated_from_the_current_json(tmp_path):
    fresh = tmp_path / 'results.md'
    result = _run('--output', str(fresh))
    assert result.returncode == 0, result.stderr
    committed = (ROOT / 'docs' / 'results.md').read_text(encoding='utf-8')
    assert committed == fresh.read_text(encoding='utf-8'), (
        'docs/results.md is out of date: run python benchmarks/results_page.py')
    assert _run('--check').returncode == 0


def test_results_page_holds_every_file_command_and_number(tmp_path):
    results = tmp_path / 'results'
    results.mkdir()
    (results / 'b_timing.json').write_text(json.dumps({
        'command': 'python benchmarks/b.py --duration 3', 'setup': {'rate_hz': 50.0},
        'latency': {'p50_ms': 1.23456, 'p99_ms': 9.87}, 'compute': {'p50_ms': 0.5},
        'missed': 3, 'runs': [{'error': 0.042}, {'error': float('nan')}],
        'table': '| fault | falls |\n|---|---|\n| paused | 0 / 3 |',
        'memory': {'bridge': {'rss_mib': 117.0}, 'node': {'rss_mib': 145.5, 'crash': None}}}))
    (results / 'a_demo.json').write_text(json.dumps({
        'realities': {'nominal': {'command': 'python a.py', 'ok': True}}}))
    page = tmp_path / 'results.md'
    assert _run('--results', str(results), '--output', str(page)).returncode == 0
    text = page.read_text()
    assert text.index('## a_demo') < text.index('## b_timing')
    assert '```bash\npython benchmarks/b.py --duration 3\n```' in text
    assert '| rate_hz | 50 |' in text
    assert '|  | p50_ms | p99_ms |' in text
    assert '| latency | 1.235 | 9.87 |' in text and '| compute | 0.5 | - |' in text
    assert '| missed | 3 |' in text
    assert '| error | 0.042 | NaN |' in text
    assert '**table**\n\n| fault | falls |\n|---|---|\n| paused | 0 / 3 |\n' in text
    assert '### memory\n\n|  | rss_mib | crash |\n|---|---|---|\n| bridge | 117 | - |\n' \
        '| node | 145.5 | - |\n' in text
    assert '### realities: nominal' in text and '| ok | yes |' in text
    # Stale and bad input.
    assert _run('--results', str(results), '--output', str(page), '--check').returncode == 0
    (results / 'b_timing.json').write_text(json.dumps({'missed': 4}))
    stale = _run('--results', str(results), '--output', str(page), '--check')
    assert stale.returncode == 1 and 'out of date' in stale.stderr
    (results / 'c.json').write_text('{"missed": ')
    broken = _run('--results', str(results), '--output', str(page))
    assert broken.returncode != 0 and 'c.json: not valid JSON' in broken.stderr


@pytest.mark.parametrize('page', PAGES, ids=lambda path: str(path.relative_to(ROOT)))
def test_relative_links_point_at_existing_files_and_headings(page):
    text = page.read_text(encoding='utf-8')
    broken = []
    for target in LINK.findall(_outside_code(text)):
        if re.match(r'^[a-z]+:', target):  # http(s)://, mailto:
            continue
        path, _, anchor = target.partition('#')
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f'{target}: no file {resolved}')
        elif anchor and resolved.suffix == '.md' and anchor not in _anchors(
                resolved.read_text(encoding='utf-8')):
            broken.append(f'{target}: no heading #{anchor} in {resolved.name}')
    assert not broken, broken


def test_readme_links_every_docs_page():
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    linked = {(ROOT / target.partition('#')[0]).resolve() for target in LINK.findall(readme)}
    pages = set((ROOT / 'docs').glob('*.md'))
    assert pages and not pages - linked, sorted(str(page) for page in pages - linked)
