{#
  published.kpi_values_named: kpi_values with the names a reader needs (KPI and region, zh and en),
  category, unit, roll-up rule and display orders — one plain dataset for a BI tool. Both grains:
  filter on `grain` (or use kpi_year / kpi_month) before summing.
#}
{{ config(materialized='view') }}
select
    v.kpi_code,
    k.name_zh as kpi_name_zh,
    k.name_en as kpi_name_en,
    k.category,
    v.unit,
    k.aggregation,
    k.is_additive,
    k.sort_order as kpi_sort_order,
    v.grain,
    v.period,
    left(v.period, 4)::int as year,
    case when v.grain = 'month' then substr(v.period, 6, 2)::int end as month,
    v.period_start,
    v.period_end,
    v.region_code,
    r.name_zh as region_name_zh,
    r.name_en as region_name_en,
    r.level as region_level,
    r.sort_order as region_sort_order,
    v.value,
    v.is_complete,
    v.months_covered,
    v.prev_value,
    v.yoy_growth_pct,
    v.target_value,
    v.attainment_pct,
    v.target_met,
    v.publication_id
from {{ ref('pub_kpi_values') }} as v
join {{ ref('pub_kpi_catalogue') }} as k using (kpi_code)
join {{ ref('pub_regions') }} as r using (region_code)
