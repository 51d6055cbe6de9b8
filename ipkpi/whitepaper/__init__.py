"""The annual white paper 宁波市知识产权发展与保护状况白皮书, generated from the `published` schema only.

    ipkpi whitepaper --year 2020 [--out DIR]

writes ``DIR/2020/whitepaper-2020.html`` (with ``charts/*.png``), ``whitepaper-2020.pdf``, ``figures.json``
(every printed figure traced to its KPI cell) and ``payloads-2020.csv`` (every payload's SHA-256 behind the
year; 附录二 prints one checksum per source month).
DIR defaults to ``$IPKPI_WHITEPAPER_DIR``, else ``whitepaper/`` at the repository root (gitignored).

Modules: ``data`` (reads one publication through ``ipkpi.mart`` with the bi_reader role; refuses an
incomplete year), ``narrative`` (number formatting and sentences whose wording follows the numbers),
``charts`` (matplotlib, Noto Sans CJK SC), ``render`` (the paper's sections → Jinja2 template → HTML →
WeasyPrint PDF).
"""

from ipkpi.whitepaper.data import IncompleteYear
from ipkpi.whitepaper.render import already_written, generate

__all__ = ["IncompleteYear", "already_written", "generate"]
