{#
  Statistics flows are never differenced across a gap or a bad document: a month flow exists only
  if it is January or the previous month's usable document has the same row; a year flow only
  if all twelve month flows exist.
#}
with used as (
    select period, indicator, region_code from {{ ref('fct_statistics') }} where is_usable
)

select m.period, m.indicator, m.region_code
from {{ ref('int_amr__statistics_monthly') }} as m
where m.basis = 'ytd' and m.month > 1
  and not exists (
      select 1 from used as u
      where u.indicator = m.indicator and u.region_code = m.region_code
        and u.period = m.year || '-' || lpad((m.month - 1)::text, 2, '0'))
union all
select m.period, m.indicator, m.region_code
from {{ ref('int_amr__statistics_monthly') }} as m
where m.period in (select period from {{ ref('int_amr__statistics_ytd_violations') }})
