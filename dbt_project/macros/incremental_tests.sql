{#-
    Tests of the large incremental facts check what the latest build wrote, not the whole history again:
    a test configured with `where: latest_build` sees only the rows whose dbt_built_at is the table's
    greatest (every row after a full build; the days a daily run rebuilt after an incremental one). Those
    rows were checked when they were written, and a daily run must not re-read a year of GPS points to
    test one day. With var test_all_rows (a back-fill's last day, whose earlier days ran no tests) such
    tests see every row. `where: latest_load` does the same for a staging view: the rows the latest extract
    brought (extracted_at equal to that run's time in meta.watermarks; none when it brought none). Any
    other `where` works as dbt's own.
-#}
{% macro get_where_subquery(relation) -%}
    {% set where = config.get('where', '') %}
    {% if where in ('latest_build', 'latest_load') and var('test_all_rows', false) %}
        {% do return(relation) %}
    {% elif where in ('latest_build', 'latest_load') %}
        {%- if where == 'latest_build' -%}
            {%- set latest = '(select max(latest.dbt_built_at) from ' ~ relation ~ ' as latest)' -%}
        {%- else -%}
            {%- set latest = "(select max(loads.loaded_at) from meta.watermarks as loads where loads.source = 'postgres')" -%}
        {%- endif -%}
        {%- set filtered -%}
            (
                select * from {{ relation }}
                where {{ 'dbt_built_at' if where == 'latest_build' else 'extracted_at' }} = {{ latest }}
            ) dbt_subquery
        {%- endset -%}
        {% do return(filtered) %}
    {% elif where %}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {% do return(filtered) %}
    {%- else -%}
        {% do return(relation) %}
    {%- endif -%}
{%- endmacro %}

{#-
    A key of the tested rows occurs once in the whole table. With `where: latest_build` after a daily run this
    checks the new rows against every row, old and new, at the cost of a semi-join instead of a full
    group-by. When the tested rows are the whole table (a first or full build, or var test_all_rows) the
    semi-join would only repeat the group-by's work: the plain group-by is run instead.
-#}
{% test unique_in_table(model, column_name, table) %}
    {{ unique_keys_in_table(model, [column_name], table) }}
{% endtest %}

{#-
    The same over several columns (a grain): the tested rows' keys occur once in the whole table. With
    narrow_by (one of the columns), the table's rows are narrowed to the tested rows' values of that column
    alone: a one-column semi join, cheaper than one on the whole grain, and it checks more rows (every month of
    the tested households, say), never fewer.
-#}
{% test unique_grain_in_table(model, columns, table, narrow_by=none) %}
    {{ unique_keys_in_table(model, columns, table, narrow_by) }}
{% endtest %}

{% macro unique_keys_in_table(model, columns, table, narrow_by=none) %}
    {%- set keys = columns | join(', ') -%}
    {%- set narrowed = narrow_by or keys -%}
    select {{ keys }}, count(*) as n
    from {{ table }}
    {% if not tests_every_row(model, table) %}
        where ({{ narrowed }}) in (select {{ narrowed }} from {{ model }})
    {% endif %}
    group by {{ keys }}
    having count(*) > 1
{% endmacro %}

{#- Whether the tested rows (a test's model, filtered or not) are every row of the table. -#}
{% macro tests_every_row(model, table) %}
    {% if not execute or run_query is not defined %}
        {{ return(false) }}
    {% endif %}
    {% set counts = run_query(
        'select (select count(*) from ' ~ model ~ ') = (select count(*) from ' ~ table ~ ')'
    ) %}
    {{ return(counts.columns[0].values()[0]) }}
{% endmacro %}

{#- The build's time, the same on every row a run writes: tests pick the latest build's rows by it. -#}
{% macro build_time() -%}
    {%- if run_started_at is defined %}
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
    {%- else %}
        current_timestamp
    {%- endif %}
{%- endmacro %}
