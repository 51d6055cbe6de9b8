{#
  公安 Police KPIs (KPIS.md 保护), per region = 区县代码, over each case's latest file row (a case
  a re-issued file dropped is gone). Filings by filed_date, solved cases by solved_date.
  Breakdown by offence (案由).
#}
{% macro kpi_source__police() -%}
{{ return({
    'records': 'int_police__cases_current',
    'counts_in_kpis': 'is_present',
    'roles': [
        {'role': 'filed', 'date_column': 'filed_date', 'measures': [
            ['police_cases_filed', 'count(*)', true],
            ['police_amount_involved', 'sum(r.amount_yuan)', true],
            ['police_cases_from_admin', 'count(*) filter (where r.is_admin_transfer)', true],
        ]},
        {'role': 'solved', 'date_column': 'solved_date', 'measures': [
            ['police_cases_solved', 'count(*)', true],
            ['police_suspects', 'sum(r.suspects)', true],
        ]},
    ],
    'breakdowns': ['offence'],
}) }}
{%- endmacro %}
