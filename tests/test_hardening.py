"""Issue 14, first items: bad ranges are clean errors, run ids never collide, a publication id
cannot smuggle SQL into dbt, a retried publish after a committed swap succeeds, `.env` stays out
of git."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import ROOT, ipkpi


@pytest.mark.parametrize(
    "args, says",
    [
        (["--from", "2020-05", "--to", "2020-01"], "before"),
        (["--from", "２０２０-01", "--to", "2020-02"], "not a month"),  # full-width digits
        (["--from", "2017-12", "--to", "2018-02"], "2018-01"),
        (["--from", "2020-01", "--to", "2999-01"], "current month"),
        (["--at", "yesterday-ish"], "ISO-8601"),
    ],
)
def test_bad_ranges_are_clean_errors(args, says):
    result = ipkpi("run", *args, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert says in result.stderr and "Traceback" not in result.stderr


def test_run_ids_never_collide():
    from ipkpi.cli import new_run_id

    assert len({new_run_id("2020-01", "2020-12") for _ in range(50)}) == 50


@pytest.mark.parametrize("publication_id", ["pub-1'; DROP SCHEMA raw CASCADE; --", 'x", "other": "y', "a b", ""])
def test_a_publication_id_cannot_reach_dbt_unless_well_formed(publication_id, tmp_path):
    from ipkpi.pipeline.transform import run_dbt

    with pytest.raises(ValueError, match="publication id"):
        run_dbt(["build"], "postgresql://nobody@127.0.0.1:1/none", tmp_path, publication_id)


def test_dotenv_is_ignored_by_git():
    assert subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT).returncode == 0


def test_secret_files_are_private_and_the_server_owns_only_its_cluster(warehouse, settings):
    import os
    import stat

    from ipkpi.platform.config import write_private
    from ipkpi.platform.services import ensure_airflow_db, pg_data_dir, write_sandbox_credentials

    write_sandbox_credentials(settings)
    ensure_airflow_db(settings)
    for path in (settings.secrets_file, settings.sandbox_credentials_file, settings.airflow_home / "passwords.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    # created private: no moment where another user could read it (the umask of the creator aside)
    old = os.umask(0)
    try:
        write_private(settings.home / "probe.json", "{}")
        assert stat.S_IMODE((settings.home / "probe.json").stat().st_mode) == 0o600
    finally:
        os.umask(old)
        (settings.home / "probe.json").unlink()
    if os.geteuid() == 0:
        import pwd

        postgres = pwd.getpwnam("postgres").pw_uid
        data = pg_data_dir(settings)
        assert data.stat().st_uid == postgres
        assert settings.home.stat().st_uid == 0 and settings.secrets_file.stat().st_uid == 0
        owned = [p for p in settings.home.iterdir() if p != data and p.stat().st_uid == postgres]
        assert owned == [], owned


def test_system_deps_is_a_no_op_offline_once_installed(tmp_path):
    """With everything installed, set-up never calls apt-get (a machine without network can restart
    the stack): a fake apt-get that fails proves it is not reached, run after run."""
    import os

    fake = tmp_path / "apt-get"
    fake.write_text("#!/bin/sh\necho called >> " + str(tmp_path / "calls") + "\nexit 100\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    for _ in range(5):
        result = subprocess.run(
            ["bash", str(ROOT / "scripts" / "system-deps.sh")], env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
    assert not (tmp_path / "calls").exists()


def _alive(pid: int) -> bool:

    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_stop_kills_the_whole_group_even_after_its_leader_died(tmp_path):
    """kill -9 of a service (the scheduler) leaves its children (workers, the log server); stopping
    it — `ipkpi stop`, or the set-up that replaces it — still ends every one of them."""
    import os
    import signal
    import time
    from dataclasses import replace

    from ipkpi.platform.config import Settings
    from ipkpi.platform.services import group_members, spawn, stop_process

    settings = replace(Settings.from_env(), home=tmp_path)
    leader = spawn(settings, "fake-scheduler", ["bash", "-c", "sleep 300 & sleep 300 & wait"], dict(os.environ))
    time.sleep(0.5)
    started = int(open(f"/proc/{leader}/stat").read().rsplit(")", 1)[1].split()[19])
    children = [p for p in group_members(leader, started) if p != leader]
    assert len(children) == 2
    os.kill(leader, signal.SIGKILL)
    time.sleep(0.3)
    assert all(_alive(p) for p in children)  # orphans, as after a crash
    assert stop_process(settings, "fake-scheduler") is True
    assert not any(_alive(p) for p in children)


def test_dbt_dies_with_the_task_that_started_it(tmp_path):
    """A task killed while dbt builds (time-out, kill -9) leaves no dbt behind: run_dbt's child is
    killed by the kernel when its parent dies."""
    import os
    import signal
    import sys
    import time

    pid_file = tmp_path / "child.pid"
    task = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import subprocess, sys\n"
                "from ipkpi.pipeline.transform import die_with_parent\n"
                f"child = subprocess.Popen(['sleep', '300'], preexec_fn=die_with_parent)\n"
                f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
                "child.wait()\n"
            ),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    child = int(pid_file.read_text())
    assert _alive(child)
    task.send_signal(signal.SIGKILL)
    task.wait()
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child)


def test_prune_removes_old_logs_and_validation_results_only(tmp_path):
    """IPKPI_RETAIN_LOG_DAYS bounds what grows with every run; recent files stay, data is never touched."""
    import os
    import time
    from dataclasses import replace

    from ipkpi.pipeline.retention import prune, retained_trees
    from ipkpi.platform.config import Settings

    settings = replace(Settings.from_env(), home=tmp_path)
    old, new = time.time() - 100 * 86400, time.time() - 10 * 86400
    files = {}
    for tree in retained_trees(settings):
        for age, mtime in (("old", old), ("new", new)):
            path = tree / "run_id=x" / f"{age}.log"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("x" * 10)
            os.utime(path, (mtime, mtime))
            files[path] = age
    elsewhere = tmp_path / "secrets.json"
    elsewhere.write_text("{}")
    os.utime(elsewhere, (old, old))
    pruned = prune(settings, days=90)
    assert pruned.files == len(retained_trees(settings))
    assert all(path.exists() == (age == "new") for path, age in files.items())
    assert elsewhere.exists()
    assert prune(settings, days=0).files == 0


def test_two_set_ups_queue_on_a_lock(tmp_path):
    """A second set-up of the same state directory waits for the first (instead of racing it for the
    ports and failing with a misleading message)."""
    import inspect
    import os
    import sys
    import time
    from dataclasses import replace

    from ipkpi import cli
    from ipkpi.platform.config import Settings
    from ipkpi.platform.services import setup_lock

    assert "setup_lock(settings)" in inspect.getsource(cli.cmd_setup)
    settings = replace(Settings.from_env(), home=tmp_path)
    marker = tmp_path / "second-entered"
    child = (
        "import sys\nfrom dataclasses import replace\nfrom pathlib import Path\n"
        "from ipkpi.platform.config import Settings\nfrom ipkpi.platform.services import setup_lock\n"
        f"with setup_lock(replace(Settings.from_env(), home=Path({str(tmp_path)!r}))):\n"
        f"    Path({str(marker)!r}).write_text('in')\n"
    )
    with setup_lock(settings):
        second = subprocess.Popen(
            [sys.executable, "-c", child],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.5)
        assert not marker.exists()  # waiting
    second.wait(timeout=30)
    assert marker.exists() and "waiting" in second.stdout.read()


def test_prune_removes_only_repeated_fetch_log_rows(warehouse):
    """A payload fetched again and again (the statistics' daily re-check) keeps its first and latest
    fetch-log rows; the repeats in between go once older than the setting; no payload is removed."""
    import psycopg

    from ipkpi.pipeline.retention import prune_repeat_fetches

    with psycopg.connect(warehouse, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO raw.payloads (sha256, bytes, body) VALUES ('prune-a', 1, 'a'), ('prune-b', 1, 'b') "
            "ON CONFLICT DO NOTHING"
        )
        for sha, days_ago in (
            ("prune-a", 50),
            ("prune-a", 40),
            ("prune-a", 35),
            ("prune-b", 33),
            ("prune-a", 31),
            ("prune-a", 1),
        ):
            conn.execute(
                "INSERT INTO raw.fetches (source, period, url, page, http_status, sha256, fetched_at) "
                "VALUES ('amr_statistics', '2000-01', 'http://x', 1, 200, %s, now() - make_interval(days => %s))",
                (sha, days_ago),
            )
        assert prune_repeat_fetches(warehouse, days=0) == 0  # the default keeps everything
        assert prune_repeat_fetches(warehouse, days=30) == 3  # a's fetches 40, 35 and 31 days ago
        kept = conn.execute(
            "SELECT sha256, (now() - fetched_at) > interval '45 days' FROM raw.fetches "
            "WHERE period = '2000-01' ORDER BY fetched_at"
        ).fetchall()
        assert kept == [("prune-a", True), ("prune-b", False), ("prune-a", False)]
        assert conn.execute("SELECT count(*) FROM raw.payloads WHERE sha256 LIKE 'prune-%'").fetchone() == (2,)
        conn.execute("DELETE FROM raw.fetches WHERE period = '2000-01'")
        conn.execute("DELETE FROM raw.payloads WHERE sha256 LIKE 'prune-%'")
