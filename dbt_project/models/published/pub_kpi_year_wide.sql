{#
  published.kpi_year_wide: one row per year and region, one column per KPI (its year value; NULL
  where the KPI has no cell), in catalogue order, each column commented with the KPI's Chinese name
  and unit — for Excel users and the white paper's tables. `is_complete`: every KPI cell of the row
  is complete. The KPI columns come from the catalogue seed when dbt runs.
#}
-- depends_on: {{ ref('ref_kpi_catalogue') }}
-- depends_on: {{ ref('ref_kpi_properties') }}
{{ config(materialized='view', post_hook=["{{ comment_kpi_columns() }}"]) }}
select
    left(v.period, 4)::int as year,
    v.period_start,
    v.period_end,
    v.region_code,
    r.name_zh as region_name_zh,
    r.name_en as region_name_en,
    r.level as region_level,
    r.sort_order as region_sort_order,
    bool_and(v.is_complete) as is_complete,
    {%- for k in kpi_list() %}
    max(v.value) filter (where v.kpi_code = '{{ k[0] }}') as {{ adapter.quote(k[0]) }},
    {%- endfor %}
    min(v.publication_id) as publication_id
from {{ ref('pub_kpi_values') }} as v
join {{ ref('pub_regions') }} as r using (region_code)
where v.grain = 'year'
group by v.period, v.period_start, v.period_end, v.region_code, r.name_zh, r.name_en, r.level, r.sort_order
