{#
  统计月报累计值倒退 Statistics-return check (SOURCES.md §4b, Settled details): every
  (period, indicator, region) where the chosen revision's ytd is below the previous month's ytd
  of the same year (the nearest earlier month of the year whose chosen document has the row).
  Such a document is bad as a whole: it is never used (its month is unknown), and the quality
  gate blocks publication on any row here until a higher revision fixes it.
#}
with ytd as (
    select
        period, year, month, indicator, region_code, revision, value,
        lag(value) over w as previous_value,
        lag(period) over w as previous_period,
        lag(revision) over w as previous_revision
    from {{ ref('int_amr__statistics_chosen') }}
    where basis = 'ytd'
    window w as (partition by indicator, region_code, year order by month)
)

select
    period,
    indicator,
    region_code,
    revision,
    value as ytd_value,
    previous_value as previous_ytd_value,
    previous_period,
    previous_revision
from ytd
where value < previous_value
