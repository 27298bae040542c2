{#-
    The days an incremental fact partitioned by day must rebuild: the days of the rows loaded into the
    source since the fact was last built (its greatest extracted_at), plus the days the fact holds those rows
    on now (a re-sent row whose day changed leaves its old day); every day when the fact is empty. Returns a
    sorted list of dates; empty when nothing arrived. Call it only when is_incremental().
-#}
{% macro days_to_rebuild(source_relation, key, day_column='recorded_date') -%}
    {% if run_query is not defined %}
        {{ return([]) }}
    {% endif %}
    {% set query %}
        with arrived as (
            select {{ key }}, {{ day_column }}
            from {{ source_relation }}
            where extracted_at > coalesce(
                (select max(built.extracted_at) from {{ this }} as built), timestamptz '-infinity'
            )
        )
        select arrived.{{ day_column }} from arrived
        union
        select built.{{ day_column }} from {{ this }} as built
        where built.{{ key }} in (select arrived.{{ key }} from arrived)
        order by 1
    {% endset %}
    {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}

{#-
    The predicate that selects those days from the source, with literal bounds on the timestamp column so
    the scan prunes by zone maps (a day in UTC+8 lies within [day - 1 day, day + 2 days) in UTC). False when
    there are no days.
-#}
{% macro days_filter(days, time_column='recorded_at', day_column='recorded_date') -%}
    {%- if days -%}
        {{ time_column }} >= cast('{{ days[0] }}' as date) - interval 1 day
        and {{ time_column }} < cast('{{ days[-1] }}' as date) + interval 2 day
        and list_contains(cast(['{{ days | join("', '") }}'] as date []), {{ day_column }})
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}
