{# Period arithmetic on the mart's text periods: 'YYYY' (year grain) and 'YYYY-MM' (month grain). #}
{% macro year_of(date_expr) -%} to_char({{ date_expr }}, 'YYYY') {%- endmacro %}
{% macro month_of(date_expr) -%} to_char({{ date_expr }}, 'YYYY-MM') {%- endmacro %}

{# The same period one year earlier (同比): 2020 -> 2019, 2020-03 -> 2019-03. #}
{% macro period_year_before(period_expr) -%}
    ((left({{ period_expr }}, 4)::int - 1)::text || substr({{ period_expr }}, 5))
{%- endmacro %}
