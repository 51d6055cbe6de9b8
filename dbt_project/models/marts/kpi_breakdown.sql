{# Splits of a KPI by a dimension (MART.md published.kpi_breakdown), city rows at both grains. #}
with seizures as (
    select seizure_period as period, left(seizure_period, 4) as year, channel, direction, quantity, value_yuan
    from {{ ref('fct_customs_seizures') }}
    where not is_released
),

customs as (
    {% for dimension in ['channel', 'direction'] %}
    {% for grain, period in [('month', 'period'), ('year', 'year')] %}
    select 'customs_seizure_batches' as kpi_code, '{{ grain }}' as grain, {{ period }} as period,
           '330200' as region_code, '{{ dimension }}' as dimension, {{ dimension }} as member,
           count(*)::numeric as value
    from seizures
    group by {{ period }}, {{ dimension }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select * from customs
