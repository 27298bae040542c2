{#- Every value of the column is >= 0 (nulls pass; pair with not_null when they must not occur). -#}
{% test not_negative(model, column_name) %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} < 0
{% endtest %}
