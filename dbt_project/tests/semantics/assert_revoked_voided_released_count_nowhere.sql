{#
  A revoked AMR case, a voided (已撤销) pledge or a released (放行) customs batch appears in no KPI,
  in any period: the city values equal a recount over the records that count (and none of the
  excluded records is counted in any month or year).
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

recount as (
    select 'amr_cases_closed' as kpi_code, p.grain, p.period,
           (select count(*) from {{ ref('fct_enforcement_cases') }} as e
            where e.counts_in_kpis and e.status = '已结案' and e.closed_on >= p.start_date and e.closed_on < p.end_date) as value
    from periods as p
    union all
    select 'amr_transfers_to_police', p.grain, p.period,
           (select count(*) from {{ ref('fct_enforcement_cases') }} as e
            where e.counts_in_kpis and e.transferred_to_police and e.opened_on >= p.start_date and e.opened_on < p.end_date)
    from periods as p
    union all
    select 'amr_fines', p.grain, p.period,
           (select coalesce(sum(e.fine_yuan), 0) from {{ ref('fct_enforcement_cases') }} as e
            where e.counts_in_kpis and e.status = '已结案' and e.closed_on >= p.start_date and e.closed_on < p.end_date)
    from periods as p
    union all
    select 'ip_pledge_registrations', p.grain, p.period,
           (select count(*) from {{ ref('fct_pledges') }} as f
            where f.counts_in_kpis and f.registration_date >= p.start_date and f.registration_date < p.end_date)
    from periods as p
    union all
    select 'ip_pledge_amount', p.grain, p.period,
           (select coalesce(sum(f.amount_yuan), 0) from {{ ref('fct_pledges') }} as f
            where f.counts_in_kpis and f.registration_date >= p.start_date and f.registration_date < p.end_date)
    from periods as p
    union all
    select 'customs_seizure_batches', p.grain, p.period,
           (select count(*) from {{ ref('fct_customs_seizures') }} as s
            where s.counts_in_kpis and s.seizure_date >= p.start_date and s.seizure_date < p.end_date)
    from periods as p
)

select v.kpi_code, v.grain, v.period, v.value as mart_value, r.value as recount
from {{ ref('kpi_values') }} as v
join recount as r using (kpi_code, grain, period)
where v.region_code = '330200' and v.value <> r.value
