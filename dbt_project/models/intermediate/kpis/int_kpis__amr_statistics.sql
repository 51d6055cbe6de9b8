{#
  统计月报指标 KPIs from the AMR statistics return (KPIS.md 创造, and the return's 保护 flows).
  Month grain: flows are the month's flow, stocks the month-end level. Year grain: flows are the
  sum of the twelve monthly flows (no cell if any month is unknown), stocks the level at the end
  of the year's last loaded month (December once the year is complete), annual values from the
  December document. Derived KPIs need every component row, else no cell. The city row is the
  return's own 330200 row; a district has a cell only where the return has its row.
  Hand-written (declared in macros/kpi_sources/amr_statistics.sql), tagged for the KPI union.
#}
{{ config(tags=['kpi_values']) }}
{% set flows = {
    'patent_grants_invention': 'patent_grants_invention',
    'pct_applications': 'pct_applications',
    'copyright_registrations': 'copyright_registrations',
    'rights_assistance_cases': 'rights_assistance_cases',
    'patent_pre_examinations': 'patent_pre_examinations',
    'mediation_cases_succeeded': 'mediation_cases_succeeded',
} %}
{% set stocks = ['invention_patents_in_force', 'trademarks_in_force', 'madrid_registrations_in_force',
                 'geographical_indications', 'well_known_trademarks', 'standard_compliant_entities',
                 'advantage_enterprises_national'] %}

with loaded as (
    select period, year from {{ ref('stg_ingestion__source_months') }}
    where source = 'amr_statistics' and is_available
),

monthly as (
    select * from {{ ref('int_amr__statistics_monthly') }}
),

-- one value per (indicator, region, grain, period)
month_values as (
    select indicator, region_code, 'month'::text as grain, period, value
    from monthly
    where basis in ('ytd', 'stock')
),

year_flows as (
    select indicator, region_code, 'year'::text as grain, year as period, sum(value) as value
    from monthly
    where basis = 'ytd'
    group by indicator, region_code, year
    having count(*) = 12
),

year_end_month as (
    select year, max(period) as period from loaded group by year
),

year_stocks as (
    select m.indicator, m.region_code, 'year'::text as grain, y.year as period, m.value
    from year_end_month as y
    join monthly as m on m.period = y.period and m.basis = 'stock'
),

annual as (
    select indicator, region_code, 'year'::text as grain, year as period, value
    from monthly
    where basis = 'annual'
),

cells as (
    select * from month_values
    union all select * from year_flows
    union all select * from year_stocks
    union all select * from annual
),

-- one row per (grain, period, region) with the components of the derived KPIs side by side
components as (
    select
        grain, period, region_code,
        max(value) filter (where indicator = 'patent_grants_invention') as invention,
        max(value) filter (where indicator = 'patent_grants_utility') as utility,
        max(value) filter (where indicator = 'patent_grants_design') as design,
        max(value) filter (where indicator = 'mediation_cases_succeeded') as mediations_succeeded,
        max(value) filter (where indicator = 'mediation_cases_closed') as mediations_closed,
        max(value) filter (where indicator = 'high_value_invention_patents_in_force') as high_value,
        count(*) filter (where indicator = 'mediation_cases_succeeded') as has_succeeded,
        count(*) filter (where indicator = 'mediation_cases_closed') as has_closed
    from cells
    where indicator in ('patent_grants_invention', 'patent_grants_utility', 'patent_grants_design',
                        'mediation_cases_succeeded', 'mediation_cases_closed', 'high_value_invention_patents_in_force')
    group by grain, period, region_code
),

population as (
    select region_code, period as year, value from annual where indicator = 'resident_population'
),

kpis as (
    select indicator as kpi_code, grain, period, region_code, value
    from cells
    where indicator in ({% for k in flows %}'{{ k }}', {% endfor %}{% for k in stocks %}'{{ k }}'{{ ", " if not loop.last }}{% endfor %})

    union all

    select 'patent_intensive_industry_va_share', grain, period, region_code, value
    from cells
    where indicator = 'patent_intensive_industry_va_share'

    union all

    -- invention + utility + design: every component row, else no cell
    select 'patent_grants_total', grain, period, region_code, invention + utility + design
    from components
    where invention is not null and utility is not null and design is not null

    union all

    -- succeeded ÷ closed, flows of the period (NULL when nothing was closed)
    select 'mediation_success_rate', grain, period, region_code, 100.0 * mediations_succeeded / nullif(mediations_closed, 0)
    from components
    where has_succeeded > 0 and has_closed > 0

    union all

    -- high-value invention patents (end of period) ÷ that calendar year's resident population (万人)
    select 'high_value_patents_per_10k', c.grain, c.period, c.region_code, c.high_value / nullif(p.value, 0)
    from components as c
    join population as p on p.region_code = c.region_code and p.year = left(c.period, 4)
    where c.high_value is not null
)

select kpi_code, grain, period, region_code, value
from kpis
