{#
  法院 Court KPIs (KPIS.md 保护), per region = court_code (the intermediate court's 330200 cases
  count in the city row only). Every current case counts; filings by filed_date, closings by
  closed_date. Breakdowns by case_type and right_type.
#}
{% macro kpi_source__court() -%}
{{ return({
    'records': 'int_court__cases_current',
    'counts_in_kpis': none,
    'roles': [
        {'role': 'filed', 'date_column': 'filed_date', 'measures': [
            ['court_cases_received', 'count(*)', true],
            ['court_civil_claim_amount', "sum(coalesce(r.claim_amount_yuan, 0)) filter (where r.case_type = '民事')", true],
        ]},
        {'role': 'closed', 'date_column': 'closed_date', 'measures': [
            ['court_cases_closed', 'count(*)', true],
            ['court_civil_acceptance_rate',
             "100.0 * count(*) filter (where r.case_type = '民事' and r.trial_level = '一审' and r.appealed = false)"
             ~ " / nullif(count(*) filter (where r.case_type = '民事' and r.trial_level = '一审' and r.appealed is not null), 0)",
             false],
            ['court_avg_trial_days', 'avg(r.closed_date - r.filed_date)', false],
            ['court_punitive_damages_cases', 'count(*) filter (where r.punitive_damages)', true],
        ]},
    ],
    'breakdowns': ['case_type', 'right_type'],
}) }}
{%- endmacro %}
