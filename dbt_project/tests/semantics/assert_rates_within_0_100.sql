{# Rates and shares (unit %) lie within 0–100, at every grain and region. #}
select v.kpi_code, v.grain, v.period, v.region_code, v.value
from {{ ref('kpi_values') }} as v
where v.unit = '%' and (v.value < 0 or v.value > 100)
union all
select b.kpi_code, b.grain, b.period, b.dimension || ':' || b.member, b.value
from {{ ref('kpi_breakdown') }} as b
join {{ ref('kpi_catalogue') }} as c using (kpi_code)
where c.unit = '%' and (b.value < 0 or b.value > 100)
