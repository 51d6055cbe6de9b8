{#
  质押融资 IP pledge KPIs (KPIS.md 运用), per region, over each registration's latest file row, by
  登记日期. Voided (已撤销) registrations count nowhere; 已注销 (released) ones still count.
  Distinct enterprises are distinct within each cell (districts need not add up to the city).
  Breakdown by 质押类型 (pledge_type).
#}
{% macro kpi_source__finance() -%}
{{ return({
    'records': 'int_finance__pledges_current',
    'counts_in_kpis': 'is_present and not is_voided',
    'roles': [
        {'role': 'registered', 'date_column': 'registration_date', 'measures': [
            ['ip_pledge_amount', 'sum(r.amount_yuan)', true],
            ['ip_pledge_registrations', 'count(*)', true],
            ['ip_pledge_enterprises', 'count(distinct r.pledgor_uscc)', true],
            ['ip_pledge_first_loans', 'count(*) filter (where r.is_first_loan)', true],
        ]},
    ],
    'breakdowns': ['pledge_type'],
}) }}
{%- endmacro %}
