{#
  published.targets (MART.md BI additions): targets.csv with its source document and clause.
  `target_value` is the number the document states; for the relative target (`0.9*2022`) it is
  resolved against the complete published city value of the base year (NULL until that year is
  complete), and `target_expression` keeps what the document says.
#}
-- depends_on: {{ ref('pub_kpi_catalogue') }}
{{ config(post_hook=["{{ published_keys(['kpi_code', 'target_year'],
    [{'columns': ['kpi_code'], 'to': 'pub_kpi_catalogue'}]) }}"]) }}
with targets as (
    select * from {{ ref('ref_kpi_targets') }}
),

base_values as (
    select kpi_code, period, value
    from {{ ref('pub_kpi_values') }}
    where grain = 'year' and region_code = '330200' and is_complete
)

select
    t.kpi_code,
    t.target_year,
    t.scope,
    t.comparator,
    case
        when t.target_value ~ '^[0-9.]+$' then t.target_value::numeric
        when t.target_value ~ '^[0-9.]+\*[0-9]{4}$' then split_part(t.target_value, '*', 1)::numeric * b.value
    end as target_value,
    t.unit,
    t.source_document,
    t.source_clause,
    t.target_value as target_expression,
    '{{ var("publication_id") }}'::text as publication_id
from targets as t
left join base_values as b
    on t.target_value ~ '\*' and b.kpi_code = t.kpi_code and b.period = split_part(t.target_value, '*', 2)
