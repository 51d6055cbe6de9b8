{#
  Unpivot a relation with one column per KPI into KPI rows:
  (kpi_code, grain, period, region_code, value). `kpis` maps kpi_code -> column name.
#}
{% macro kpi_rows(relation, grain, kpis, region_column="'330200'") -%}
    {%- for kpi_code, column in kpis.items() %}
    select '{{ kpi_code }}'::text as kpi_code, '{{ grain }}'::text as grain, period::text as period,
           {{ region_column }}::text as region_code, ({{ column }})::numeric as value
    from {{ relation }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
