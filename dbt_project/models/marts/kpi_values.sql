{#
  The KPI mart (MART.md published.kpi_values, less publication_id): every KPI, grain, period and
  region, with completeness, the same period a year earlier (同比) and the target where one applies.
#}
{{ config(indexes=[{'columns': ['kpi_code', 'grain', 'period', 'region_code'], 'unique': true}]) }}

with observations as (
    select * from {{ ref('int_kpi_observations') }}
),

catalogue as (
    select kpi_code, unit, source from {{ ref('kpi_catalogue') }}
),

with_source as (
    select o.*, k.unit, k.source
    from observations as o
    join catalogue as k using (kpi_code)
),

with_coverage as (
    select
        o.kpi_code, o.grain, o.period, o.region_code, o.value, o.unit,
        c.months_covered,
        c.months_covered = c.months_expected as is_complete
    from with_source as o
    join {{ ref('int_source_coverage') }} as c
        on c.source = o.source and c.grain = o.grain and c.period = o.period
),

with_previous as (
    {# 同比: the same KPI, region and grain one year earlier (a year, or the same month of the year before) #}
    select
        cur.*,
        case when lag(left(cur.period, 4)::int) over same_slot = left(cur.period, 4)::int - 1
             then lag(cur.value) over same_slot end as prev_value
    from with_coverage as cur
    window same_slot as (partition by cur.kpi_code, cur.grain, cur.region_code, substr(cur.period, 5)
                         order by cur.period)
)

select
    v.kpi_code,
    v.grain,
    v.period,
    v.region_code,
    v.value,
    v.unit,
    v.is_complete,
    v.months_covered,
    v.prev_value,
    case when v.prev_value <> 0 then (v.value / v.prev_value - 1) * 100 end as yoy_growth_pct,
    t.target_value,
    {# an incomplete year never looks finished: no attainment, no verdict #}
    case when v.is_complete and t.target_value is not null then
        case when t.comparator = '<=' then t.target_value / nullif(v.value, 0) * 100
             else v.value / nullif(t.target_value, 0) * 100 end
    end as attainment_pct,
    case when v.is_complete and t.target_value is not null and v.value is not null then
        case when t.comparator = '<=' then v.value <= t.target_value else v.value >= t.target_value end
    end as target_met
from with_previous as v
left join {{ ref('int_kpi_targets') }} as t
    on v.grain = 'year' and v.region_code = '330200' and t.kpi_code = v.kpi_code and t.year = v.period
