{#
  Month flows sum to the year: for every flow KPI (counts, sums, statistics flows) and region, a
  complete year's value equals the sum of its twelve month values (and all twelve exist).
#}
with flows as (
    select v.*
    from {{ ref('kpi_values') }} as v
    join {{ ref('ref_kpi_properties') }} as k using (kpi_code)
    where k.aggregation = 'flow'
),

years as (
    select kpi_code, region_code, period as year, value
    from flows
    where grain = 'year' and is_complete and value is not null
),

months as (
    select kpi_code, region_code, left(period, 4) as year, sum(value) as total, count(value) as n
    from flows
    where grain = 'month'
    group by kpi_code, region_code, left(period, 4)
)

select y.kpi_code, y.region_code, y.year, y.value as year_value, m.total as sum_of_months, m.n as months
from years as y
left join months as m using (kpi_code, region_code, year)
where m.n is distinct from 12 or m.total <> y.value
