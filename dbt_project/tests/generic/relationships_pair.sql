{# Rows whose combination of `columns` has no match in `to` (a composite relationships test). #}
{% test relationships_pair(model, to, columns) %}
select {{ columns | join(', ') }}
from {{ model }} as child
where not exists (
    select 1 from {{ to }} as parent
    where {% for c in columns %}parent.{{ c }} = child.{{ c }}{{ " and " if not loop.last }}{% endfor %}
)
{% endtest %}
