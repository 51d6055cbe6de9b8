{#
  海关 Customs KPIs (KPIS.md 保护). Released (放行) rows are not seizures; a batch dropped by a
  re-issued workbook is gone. Customs carries no region: city rows only (`city_only`). A loaded
  month with no seizures is 0; a month not loaded has no row. Breakdowns by channel (渠道) and
  direction (进出境).
#}
{% macro kpi_source__customs() -%}
{{ return({
    'records': 'int_customs__seizures_current',
    'counts_in_kpis': 'is_present and not is_released',
    'city_only': true,
    'roles': [
        {'role': 'seized', 'date_column': 'seizure_date', 'measures': [
            ['customs_seizure_batches', 'count(*)', true],
            ['customs_seizure_items', 'sum(r.quantity)', true],
            ['customs_seizure_value', 'sum(r.value_yuan)', true],
        ]},
    ],
    'breakdowns': ['channel', 'direction'],
}) }}
{%- endmacro %}
