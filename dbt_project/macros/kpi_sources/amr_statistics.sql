{#
  统计月报 The AMR statistics return carries values, not records: its KPI model
  (int_kpis__amr_statistics) is written by hand — flows, stocks, annual and derived indicators —
  and it has no breakdown. Declared so the KPI union reads it like every other source.
#}
{% macro kpi_source__amr_statistics() -%}
{{ return({'hand_written': true, 'breakdowns': []}) }}
{%- endmacro %}
