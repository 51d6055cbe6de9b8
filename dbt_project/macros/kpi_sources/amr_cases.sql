{#
  行政执法 AMR enforcement KPIs (KPIS.md 保护). Revoked (已撤销) cases count in no period,
  retroactively; closings are the 已结案 cases by closed_on; the closure rate and transfers are
  over the cases opened in the period. Breakdown by case category.
#}
{% macro kpi_source__amr_cases() -%}
{{ return({
    'records': 'int_amr__cases_current',
    'counts_in_kpis': 'not is_revoked',
    'roles': [
        {'role': 'opened', 'date_column': 'opened_on', 'measures': [
            ['amr_closure_rate',
             "100.0 * count(*) filter (where r.status = '已结案' and r.closed_on < p.end_date) / nullif(count(*), 0)",
             false],
            ['amr_transfers_to_police', 'count(*) filter (where r.transferred_to_police)', true],
        ]},
        {'role': 'closed', 'date_column': 'closed_on', 'where': "status = '已结案'", 'measures': [
            ['amr_patent_cases_closed', "count(*) filter (where r.category_group = 'patent')", true],
            ['amr_trademark_cases_closed', "count(*) filter (where r.category_group = 'trademark')", true],
            ['amr_cases_closed', 'count(*)', true],
            ['amr_fines', 'sum(r.fine_yuan)', true],
            ['amr_avg_case_days', 'avg(r.closed_on - r.opened_on)', false],
        ]},
    ],
    'breakdowns': ['category'],
}) }}
{%- endmacro %}
