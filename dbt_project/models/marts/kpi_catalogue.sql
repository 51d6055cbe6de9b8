{#
  The KPI catalogue with its roll-up rules for BI: `aggregation` (how months roll up to a year:
  sum | last | ratio | mean), `is_additive` (districts may be summed; the city never is the sum of
  its districts, since records coded 330200 count in the city only) and `sort_order` (KPIS.md's).
#}
select
    c.kpi_code, c.name_zh, c.name_en, c.category, c.unit, c.definition, c.source,
    p.year_rollup as aggregation,
    p.is_additive,
    p.sort_order
from {{ ref('ref_kpi_catalogue') }} as c
join {{ ref('ref_kpi_properties') }} as p using (kpi_code)
