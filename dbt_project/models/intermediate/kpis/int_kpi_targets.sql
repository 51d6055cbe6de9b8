{#
  Targets (targets.csv) resolved per KPI and year. `from_year_on` applies to its year and every
  later year; the relative target `0.9*2022` is resolved against the complete 2022 city value,
  else left NULL. Targets apply at year grain, to the city.
#}
with targets as (
    select * from {{ ref('ref_kpi_targets') }}
),

years as (
    select distinct period as year from {{ ref('int_kpi_observations') }} where grain = 'year'
),

applicable as (
    select t.*, y.year
    from targets as t
    join years as y
        on (t.scope = 'year' and y.year::int = t.target_year)
        or (t.scope = 'from_year_on' and y.year::int >= t.target_year)
),

base_values as (
    select o.kpi_code, o.period as year, o.value, c.months_covered = c.months_expected as is_complete
    from {{ ref('int_kpi_observations') }} as o
    join {{ ref('kpi_catalogue') }} as k using (kpi_code)
    join {{ ref('int_source_coverage') }} as c
        on c.source = k.source and c.grain = o.grain and c.period = o.period
    where o.grain = 'year' and o.region_code = '330200'
)

select
    a.kpi_code,
    a.year,
    a.comparator,
    case
        when a.target_value ~ '^[0-9.]+$' then a.target_value::numeric
        when a.target_value ~ '^[0-9.]+\*[0-9]{4}$' and b.is_complete
            then split_part(a.target_value, '*', 1)::numeric * b.value
    end as target_value,
    a.target_value as target_expression,
    a.source_document
from applicable as a
left join base_values as b
    on a.target_value ~ '\*' and b.kpi_code = a.kpi_code and b.year = split_part(a.target_value, '*', 2)
