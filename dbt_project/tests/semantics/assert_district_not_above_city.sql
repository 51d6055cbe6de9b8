{#
  District ≤ city for every additive KPI (flows, stocks, distinct counts), at both grains: the city
  row covers all valid records (or is the return's authoritative total). For the record-based
  sources the districts together cannot exceed the city either (distinct enterprises excepted).
#}
with v as (
    select v.*, k.aggregation, c.source
    from {{ ref('kpi_values') }} as v
    join {{ ref('ref_kpi_properties') }} as k using (kpi_code)
    join {{ ref('kpi_catalogue') }} as c using (kpi_code)
    where k.aggregation in ('flow', 'stock', 'distinct')
),

city as (
    select kpi_code, grain, period, value from v where region_code = '330200'
),

single as (
    select d.kpi_code, d.grain, d.period, d.region_code, d.value as district_value, c.value as city_value
    from v as d
    join city as c using (kpi_code, grain, period)
    where d.region_code <> '330200' and d.value > c.value
),

summed as (
    select d.kpi_code, d.grain, d.period, 'Σ districts'::text as region_code, sum(d.value) as district_value,
           max(c.value) as city_value
    from v as d
    join city as c using (kpi_code, grain, period)
    where d.region_code <> '330200' and d.source <> 'amr_statistics' and d.aggregation = 'flow'
    group by d.kpi_code, d.grain, d.period
    having sum(d.value) > max(c.value)
)

select * from single
union all
select * from summed
