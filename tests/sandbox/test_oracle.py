"""The oracle reproduces every published actual of the seeds (table-driven), and its semantics."""

import pytest

from sandbox.oracle import compute, seed_actual_checks, target_checks

TARGETS = "/work/shared/contract/targets.csv"


@pytest.fixture(scope="module")
def oracle(dataset):
    return compute(dataset)


def pytest_generate_tests(metafunc):
    if "seed_check" in metafunc.fixturenames:
        labels = [
            "court_cases_received 2018-2020",
            "court_cases_received by case_type 2018-2020",
            "court_civil_claim_amount 2018-2020 (万元)",
            "amr_patent_cases_closed 2020",
            "amr_trademark_cases_closed 2020",
            "amr_fines 2020 (万元)",
            "amr_closure_rate 2020 (%)",
            "police_cases_filed 2020",
            "police_cases_solved 2020",
            "police_suspects 2020",
            "police_amount_involved 2020 (亿元, rounded down)",
            "police_cases_solved 2019",
            "customs_seizure_batches 2018-2020",
            "customs_seizure_items 2018-2020 (万件)",
            "customs_seizure_value 2018-2020 (亿元)",
            "patent_grants_total 2020 (growth %)",
            "invention_patents_in_force 2020 (growth %)",
            "pct_applications 2020 (growth %)",
            "madrid_registrations_in_force 2020 (growth %)",
            "geographical_indications 2020 (growth %)",
            "well_known_trademarks 2020 (growth %)",
            "trademarks_in_force 2020 (growth %)",
            "copyright_registrations 2020 (growth %)",
            "standard_compliant_entities 2020",
            "ip_pledge_amount 2019 (亿元)",
            "ip_pledge_amount 2020 (亿元)",
            "ip_pledge_amount 2020 专利权质押 (亿元)",
            "mediation_cases_succeeded / success rate 2019",
        ]
        metafunc.parametrize("seed_check", labels)


def test_seed_actual(oracle, seed_check):
    checks = {c[0]: c for c in seed_actual_checks(oracle)}
    label, value, stated, ok = checks[seed_check]
    assert ok, f"{label}: oracle {value}, stated {stated}"


def test_every_check_is_covered(oracle):
    assert len(seed_actual_checks(oracle)) == 28


EXPECTED_TARGETS = {
    ("invention_patents_in_force", 2022): True,
    ("pct_applications", 2022): False,
    ("copyright_registrations", 2022): True,
    ("trademarks_in_force", 2022): True,
    ("madrid_registrations_in_force", 2022): False,
    ("ip_pledge_amount", 2022): True,
    ("standard_compliant_entities", 2022): False,
    ("advantage_enterprises_national", 2022): True,
    ("high_value_patents_per_10k", 2025): False,
    ("patent_intensive_industry_va_share", 2025): True,
    ("copyright_registrations", 2025): True,
    ("court_civil_acceptance_rate", 2025): True,
    ("amr_avg_case_days", 2025): True,
    ("invention_patents_in_force", 2025): False,
    ("rights_assistance_cases", 2025): True,
    ("patent_pre_examinations", 2025): False,
    ("amr_closure_rate", 2020): True,
    ("amr_closure_rate", 2021): True,
    ("amr_closure_rate", 2022): True,
    ("amr_closure_rate", 2023): False,
    ("amr_closure_rate", 2024): True,
    ("amr_closure_rate", 2025): True,
}


def test_targets_as_documented(oracle):
    got = {(k, y): met for k, y, _, _, _, met in target_checks(oracle, TARGETS)}
    assert got == EXPECTED_TARGETS


def test_traps_are_excluded(oracle, dataset):
    q = oracle.quarantine
    for key in (
        ("court", "unknown_region"),
        ("amr", "unknown_region"),
        ("police", "unknown_region"),
        ("finance", "unknown_region"),
        ("finance", "invalid_uscc"),
        ("statistics", "unknown_region"),
    ):
        assert q[key] > 0, key
    assert not oracle.blocking
    # released customs rows exist but are not seizures
    released = sum(1 for m in range(1, 13) for r in dataset.customs_rows(f"2020-{m:02d}") if r["处置状态"] == "放行")
    assert released > 0
    assert oracle.value("customs_seizure_batches", "2020") == 637


def test_city_covers_districts(oracle):
    for kpi in ("court_cases_received", "amr_cases_closed", "police_cases_filed", "ip_pledge_registrations"):
        city = oracle.value(kpi, "2021")
        districts = [
            oracle.value(kpi, "2021", d)
            for d in (
                "330203",
                "330205",
                "330206",
                "330211",
                "330212",
                "330213",
                "330225",
                "330226",
                "330281",
                "330282",
            )
        ]
        assert all(v is not None for v in districts)
        assert sum(districts) < city  # 330200-coded records count in the city row only


def test_month_grain_sums_to_year(oracle):
    for kpi in (
        "court_cases_received",
        "customs_seizure_value",
        "ip_pledge_amount",
        "patent_grants_total",
        "copyright_registrations",
    ):
        months = [oracle.value(kpi, f"2022-{m:02d}") for m in range(1, 13)]
        assert sum(months) == oracle.value(kpi, "2022")


def test_late_district_has_no_year_flow(oracle):
    assert oracle.value("pct_applications", "2021", "330213") is None
    assert oracle.value("pct_applications", "2022", "330213") is not None
    assert oracle.value("pct_applications", "2021-03", "330213") is None


def test_earlier_as_of_sees_less(dataset):
    from datetime import timedelta

    december = min(
        e["at"]
        for e in dataset.publication_events()
        if e["period"] == "2020-12" and e["source"] in ("police", "amr_statistics")
    )
    early = compute(dataset, as_of=december - timedelta(seconds=1))  # just before the first of them
    assert early.value("police_cases_filed", "2020") < 217  # December 2020 not yet published
    assert early.value("court_cases_received", "2020") <= 1908
    assert early.value("patent_grants_total", "2020") is None  # December document not out yet


def test_ytd_decrease_blocks(dataset):
    from sandbox import Dataset

    o = compute(Dataset(traps={"ytd_decrease": "2021-05"}))
    assert o.blocking and o.blocking[0][:2] == ("2021-05", "patent_grants_invention")
    assert o.value("patent_grants_invention", "2021") is None
