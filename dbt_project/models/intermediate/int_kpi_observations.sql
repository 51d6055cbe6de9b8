{# Every KPI value of every domain, one row per (kpi_code, grain, period, region_code). #}
{% set domains = ['int_kpis__customs'] %}
{% for model in domains %}
select kpi_code, grain, period, region_code, value from {{ ref(model) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
