{#
  知识产权统计月报 One row per (period, indicator, region) of each month's chosen document (the
  highest revision): the reported value, the month value derived from it (flow for ytd, level for
  stock, the year's value for annual; NULL when unknown), and whether the document is usable.
#}
select
    c.period,
    c.indicator,
    c.region_code,
    c.basis,
    c.unit,
    c.value as reported_value,
    m.value as month_value,
    c.revision,
    c.published_at,
    not c.is_quarantined
        and c.period not in (select period from {{ ref('int_amr__statistics_ytd_violations') }}) as is_usable,
    c.is_quarantined,
    c.load_id
from {{ ref('int_amr__statistics_chosen') }} as c
left join {{ ref('int_amr__statistics_monthly') }} as m
    on m.period = c.period and m.indicator = c.indicator and m.region_code = c.region_code
