{#
  统计月报月度值 Month values of the statistics return, per indicator and region:
  - ytd indicators → the month's flow: January's ytd, else ytd − the previous month's ytd of the
    same year. A missing previous month (not loaded, bad document, or no row yet for a district
    that starts reporting later) leaves the flow unknown: no row, never a difference across a gap;
  - stock indicators → the month-end level;
  - annual indicators (December documents only) → the year's value.
#}
with current_rows as (
    select * from {{ ref('int_amr__statistics_current') }}
)

select
    c.indicator,
    c.region_code,
    c.period,
    c.year,
    c.month,
    c.basis,
    case when c.month = 1 then c.value else c.value - p.value end as value,
    c.revision
from current_rows as c
left join current_rows as p
    on p.indicator = c.indicator and p.region_code = c.region_code and p.year = c.year and p.month = c.month - 1
where c.basis = 'ytd' and (c.month = 1 or p.value is not null)

union all

select indicator, region_code, period, year, month, basis, value, revision
from current_rows
where basis in ('stock', 'annual')
