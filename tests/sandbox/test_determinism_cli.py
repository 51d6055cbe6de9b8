"""Determinism of every feed, opt-in customs trap, and the CLI."""

import json
import os
import signal
import subprocess
import sys

import requests
from sbx_helpers import CREDS

from sandbox import Dataset


def test_two_instances_identical():
    a, b = Dataset(), Dataset()
    for period in ("2018-01", "2020-03", "2025-12"):
        assert a.customs_workbook(period)[0] == b.customs_workbook(period)[0]
        assert a.police_file(period)[0] == b.police_file(period)[0]
        assert a.finance_file(period)[0] == b.finance_file(period)[0]
        assert a.amr_cases(period) == b.amr_cases(period)
        assert a.amr_statistics(period) == b.amr_statistics(period)
    w = ("2021-06-01T00:00:00+08:00", "2021-07-01T00:00:00+08:00")
    assert a.court_versions(*w) == b.court_versions(*w)
    c = Dataset(seed=1)
    assert c.police_file("2020-03")[0] != a.police_file("2020-03")[0]
    assert c.court_versions(*w) != a.court_versions(*w)


def test_scale_multiplies_volume():
    def seizures(ds):
        return sum(1 for m in range(1, 13) for r in ds.customs_rows(f"2020-{m:02d}") if r["处置状态"] != "放行")

    assert seizures(Dataset(scale=3)) == 3 * seizures(Dataset()) == 3 * 637


def test_customs_total_mismatch_trap():
    import io

    import openpyxl

    ds = Dataset(traps={"customs_total_mismatch": "2020-03"})
    wb = openpyxl.load_workbook(io.BytesIO(ds.customs_workbook("2020-03")[0]))
    rows = list(wb.active.iter_rows(min_row=4, values_only=True))
    assert rows[-1][0] == "合计" and rows[-1][7] != sum(r[7] for r in rows[:-1])
    wb = openpyxl.load_workbook(io.BytesIO(ds.customs_workbook("2020-04")[0]))
    rows = list(wb.active.iter_rows(min_row=4, values_only=True))
    assert rows[-1][7] == sum(r[7] for r in rows[:-1])


def test_cli(tmp_path):
    cred = tmp_path / "creds.json"
    cred.write_text(json.dumps(CREDS))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--credentials-file",
            str(cred),
            "--as-of",
            "2021-01-01T00:00:00+08:00",
        ],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("sandbox listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        r = requests.get(f"{url}/reports/ipr-seizures/2020/11.xlsx", headers={"X-Access-Key": CREDS["customs"]})
        assert r.status_code == 200
        r = requests.get(f"{url}/reports/ipr-seizures/2020/12.xlsx", headers={"X-Access-Key": CREDS["customs"]})
        assert r.status_code == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_cli_requires_credentials(tmp_path):
    cred = tmp_path / "creds.json"
    cred.write_text(json.dumps({"court": "x"}))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    r = subprocess.run(
        [sys.executable, "-m", "sandbox", "--port", "0", "--credentials-file", str(cred)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode != 0 and "credentials" in r.stderr
