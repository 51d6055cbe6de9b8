{#
  A revoked AMR case, a voided (已撤销) pledge or a released (放行) customs batch appears in no KPI,
  in any period: the city values equal a recount over the records whose status — as the agency
  delivered it, read from raw (SOURCES.md §4a `status`, §5 `登记状态`, §2 `处置状态`) — is not
  revoked, voided or released. The mart's own flags (is_revoked, counts_in_kpis…) are not used,
  so a flag derived wrongly cannot agree with itself.

  AMR cases: the latest version delivered (largest updated_at, SOURCES.md), straight from raw.
  Pledges and seizures: the record's row in the file the mart took its latest state from (its
  load_id), with that row's delivered status.
#}
with periods as (
    select grain, period,
           case when grain = 'year' then to_date(period || '-01-01', 'YYYY-MM-DD')
                else to_date(period || '-01', 'YYYY-MM-DD') end as start_date,
           case when grain = 'year' then (to_date(period || '-01-01', 'YYYY-MM-DD') + interval '1 year')::date
                else (to_date(period || '-01', 'YYYY-MM-DD') + interval '1 month')::date end as end_date
    from {{ ref('kpi_values') }}
    where region_code = '330200'
    group by grain, period
),

amr_delivered as (
    select distinct on (case_id) case_id, status, opened_on, closed_on, fine_yuan::numeric as fine_yuan,
           transferred_to_police
    from {{ source('amr', 'amr_cases') }}
    order by case_id, updated_at desc
),

amr_counting as (
    select * from amr_delivered where status <> '已撤销'
),

pledges_counting as (
    select f.registration_no, f.registration_date, f.amount_yuan
    from {{ ref('fct_pledges') }} as f
    where exists (select 1 from {{ source('finance', 'finance_pledges') }} as r
                  where r.load_id = f.load_id and r.registration_no = f.registration_no)
      and not exists (select 1 from {{ source('finance', 'finance_pledges') }} as r
                      where r.load_id = f.load_id and r.registration_no = f.registration_no and r.status = '已撤销')
),

seizures_counting as (
    select s.seizure_no, s.seizure_date
    from {{ ref('fct_customs_seizures') }} as s
    where exists (select 1 from {{ source('customs', 'customs_seizures') }} as r
                  where r.load_id = s.load_id and r.seizure_no = s.seizure_no)
      and not exists (select 1 from {{ source('customs', 'customs_seizures') }} as r
                      where r.load_id = s.load_id and r.seizure_no = s.seizure_no and r.disposition = '放行')
),

-- each KPI's recount per calendar month (one pass over the records), then summed over the
-- months of each published period (a KPI with no record in a period recounts as 0)
monthly as (
    select 'amr_cases_closed' as kpi_code, date_trunc('month', closed_on)::date as month, count(*)::numeric as value
    from amr_counting where status = '已结案' group by 2
    union all
    select 'amr_transfers_to_police', date_trunc('month', opened_on)::date, count(*)
    from amr_counting where transferred_to_police group by 2
    union all
    select 'amr_fines', date_trunc('month', closed_on)::date, sum(fine_yuan)
    from amr_counting where status = '已结案' group by 2
    union all
    select 'ip_pledge_registrations', date_trunc('month', registration_date)::date, count(*)
    from pledges_counting group by 2
    union all
    select 'ip_pledge_amount', date_trunc('month', registration_date)::date, sum(amount_yuan)
    from pledges_counting group by 2
    union all
    select 'customs_seizure_batches', date_trunc('month', seizure_date)::date, count(*)
    from seizures_counting group by 2
),

recount as (
    select k.kpi_code, p.grain, p.period, coalesce(sum(m.value), 0) as value
    from periods as p
    cross join (values ('amr_cases_closed'), ('amr_transfers_to_police'), ('amr_fines'),
                       ('ip_pledge_registrations'), ('ip_pledge_amount'), ('customs_seizure_batches')) as k (kpi_code)
    left join monthly as m
        on m.kpi_code = k.kpi_code and m.month >= p.start_date and m.month < p.end_date
    group by k.kpi_code, p.grain, p.period
)

select v.kpi_code, v.grain, v.period, v.value as mart_value, r.value as recount
from {{ ref('kpi_values') }} as v
join recount as r using (kpi_code, grain, period)
where v.region_code = '330200' and v.value <> r.value
