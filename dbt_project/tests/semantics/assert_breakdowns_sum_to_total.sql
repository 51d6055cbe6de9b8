{# For counts and sums, the members of every dimension add up to the city value of the KPI. #}
with totals as (
    select b.kpi_code, b.grain, b.period, b.dimension, sum(b.value) as total
    from {{ ref('kpi_breakdown') }} as b
    join {{ ref('ref_kpi_properties') }} as k using (kpi_code)
    where k.aggregation = 'flow'
    group by b.kpi_code, b.grain, b.period, b.dimension
)

select t.*, v.value as city_value
from totals as t
left join {{ ref('kpi_values') }} as v
    on v.kpi_code = t.kpi_code and v.grain = t.grain and v.period = t.period and v.region_code = '330200'
where v.value is distinct from t.total
