{#
  Rates and shares (unit %) lie within 0–100, at every grain and region, with one reading left to
  a warning (warn_statistics_month_rates_above_100): at month grain the mediation success rate is
  a ratio of two *differenced* ytd flows, and a month's successes can exceed its closings when the
  office books them in different months; the year rate (Σ flows) stays within 0–100.
#}
select v.kpi_code, v.grain, v.period, v.region_code, v.value
from {{ ref('kpi_values') }} as v
where v.unit = '%' and (v.value < 0 or v.value > 100)
  and not (v.kpi_code = 'mediation_success_rate' and v.grain = 'month')
union all
select b.kpi_code, b.grain, b.period, b.dimension || ':' || b.member, b.value
from {{ ref('kpi_breakdown') }} as b
join {{ ref('kpi_catalogue') }} as c using (kpi_code)
where c.unit = '%' and (b.value < 0 or b.value > 100)
