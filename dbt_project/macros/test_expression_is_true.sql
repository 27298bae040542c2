{#- Every row satisfies a boolean SQL expression (an arithmetic or logical invariant of a model). -#}
{% test expression_is_true(model, expression) %}
    select *
    from {{ model }}
    where not coalesce(({{ expression }}), false)
{% endtest %}
