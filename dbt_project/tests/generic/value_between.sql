{# Rows whose `column_name` is outside [min_value, max_value] (NULL passes). #}
{% test value_between(model, column_name, min_value=none, max_value=none, where_sql=none) %}
select *
from {{ model }}
where {{ column_name }} is not null
  and ({% if min_value is not none %}{{ column_name }} < {{ min_value }}{% else %}false{% endif %}
       or {% if max_value is not none %}{{ column_name }} > {{ max_value }}{% else %}false{% endif %})
  {% if where_sql %}and ({{ where_sql }}){% endif %}
{% endtest %}
