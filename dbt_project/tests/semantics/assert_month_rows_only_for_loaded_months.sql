{#
  A month not loaded has no row (never 0), and a year appears only once one of its months is
  loaded; is_complete and months_covered agree with the source's coverage.
#}
select v.kpi_code, v.grain, v.period, v.region_code, v.months_covered, v.is_complete
from {{ ref('kpi_values') }} as v
join {{ ref('kpi_catalogue') }} as k using (kpi_code)
left join {{ ref('int_source_coverage') }} as c
    on c.source = k.source and c.grain = v.grain and c.period = v.period
where c.months_covered is null
   or c.months_covered = 0
   or v.months_covered <> c.months_covered
   or v.is_complete <> (c.months_covered = c.months_expected)
