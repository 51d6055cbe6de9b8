{#
  KPI values over records for a set of periods (a CTE with grain, period, start_date, end_date).

  measures: list of [kpi_code, aggregate expression over `r` (records) and `p` (period),
            zero_when_empty] — counts and sums are 0 for a cell with no records, rates and means
            NULL (KPIS.md "Zero, missing, null").
  split = 'region': one row per period for the city (ALL records, whatever their region) and
            one per district (records coded with it; records coded 330200 count in the city only).
  split = 'member': one row per period and member of `dimension` (ref_dimension_members),
            city only — the kpi_breakdown rows.
#}
{% macro aggregate_kpis(periods, records, date_column, measures, split='region', dimension=none, member_column=none) -%}
(
    with agg as (
        select
            p.grain,
            p.period,
            {%- if split == 'region' %}
            case when grouping(r.region_code) = 1 then '330200' else r.region_code end as key,
            grouping(r.region_code) = 1 as is_total,
            {%- else %}
            r.{{ member_column }} as key,
            true as is_total,
            {%- endif %}
            {%- for m in measures %}
            ({{ m[1] }})::numeric as m{{ loop.index }}{{ "," if not loop.last }}
            {%- endfor %}
        from {{ periods }} as p
        join {{ records }} as r
            on r.{{ date_column }} >= p.start_date and r.{{ date_column }} < p.end_date
        group by
            {%- if split == 'region' %}
            grouping sets ((p.grain, p.period, p.start_date, p.end_date, r.region_code),
                           (p.grain, p.period, p.start_date, p.end_date))
            {%- else %}
            p.grain, p.period, p.start_date, p.end_date, r.{{ member_column }}
            {%- endif %}
    ),
    cells as (
        select * from agg where is_total or key <> '330200'
    ),
    grid as (
        select p.grain, p.period, g.key
        from {{ periods }} as p
        {%- if split == 'region' %}
        cross join (select region_code as key from {{ ref('dim_regions') }}) as g
        {%- else %}
        cross join (select member as key from {{ ref('ref_dimension_members') }}
                    where dimension = '{{ dimension }}') as g
        {%- endif %}
    )
    {%- for m in measures %}
    select
        '{{ m[0] }}'::text as kpi_code,
        grid.grain,
        grid.period,
        {%- if split == 'region' %}
        grid.key as region_code,
        {%- else %}
        '330200'::text as region_code,
        '{{ dimension }}'::text as dimension,
        grid.key as member,
        {%- endif %}
        {% if m[2] %}coalesce(cells.m{{ loop.index }}, 0){% else %}cells.m{{ loop.index }}{% endif %} as value
    from grid
    left join cells on cells.grain = grid.grain and cells.period = grid.period and cells.key = grid.key
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)
{%- endmacro %}
