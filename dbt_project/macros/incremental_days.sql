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

{#-
    The days of fct_visit out of step with its household: visits whose household now has another area, area
    name or location than the table copied (moved, renamed, re-surveyed), and visits the table lacks although
    their household is now known (a visit loaded before its household: the inner join left it out). Empty
    when none.
    Call it only when is_incremental().
-#}
{% macro days_of_visits_out_of_step() -%}
    {% if run_query is not defined %}
        {{ return([]) }}
    {% endif %}
    {% set query %}
        select built.visit_date
        from {{ this }} as built
        inner join {{ ref('dim_household') }} as households
            on built.household_id = households.household_id
        where
            built.village_code is distinct from households.village_code
            or built.village_name is distinct from households.village_name
            or built.town_name is distinct from households.town_name
            or built.household_lat is distinct from households.lat
            or built.household_lon is distinct from households.lon
        union
        select visits.visit_date
        from {{ ref('stg_app__visits') }} as visits
        inner join {{ ref('dim_household') }} as households
            on visits.household_id = households.household_id
        anti join {{ this }} as built
            on visits.visit_id = built.visit_id
        where not visits.is_deleted
        order by 1
    {% endset %}
    {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}

{#-
    The visit days visit_authenticity must rebuild: the days on which its rows no longer match fct_visit
    (visits added, withdrawn, moved to another day, re-timed, re-assigned, or whose household moved), the
    days of GPS points fct_gps_point rebuilt since this table's latest build, and the day before each of
    those (a visit that started the evening before can end on it). Call it only when is_incremental().
-#}
{% macro visit_days_to_rebuild() -%}
    {% if run_query is not defined %}
        {{ return([]) }}
    {% endif %}
    {% set query %}
        with changed as (
            select
                visits.visit_date as new_date,
                built.visit_date as old_date
            from {{ ref('fct_visit') }} as visits
            full outer join {{ this }} as built
                on visits.visit_id = built.visit_id
            where
                visits.visit_id is null
                or built.visit_id is null
                or visits.visit_date != built.visit_date
                or visits.cadre_id != built.cadre_id
                or visits.household_id != built.household_id
                or visits.village_code != built.village_code
                or visits.started_at is distinct from built.started_at
                or visits.ended_at is distinct from built.ended_at
                or visits.household_lat is distinct from built.household_lat
                or visits.household_lon is distinct from built.household_lon
        ),

        point_days as (
            select distinct points.recorded_date
            from {{ ref('fct_gps_point') }} as points
            where points.dbt_built_at > (select max(built.dbt_built_at) from {{ this }} as built)
        )

        select new_date from changed where new_date is not null
        union
        select old_date from changed where old_date is not null
        union
        select recorded_date from point_days
        union
        select cast(recorded_date - interval 1 day as date) from point_days
        order by 1
    {% endset %}
    {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}

{#-
    A predicate: day_column is one of days (a list of dates), or of the day after one when next_days is 1.
    Literal bounds first, so the scan prunes by zone maps. False when there are no days.
-#}
{% macro days_in(day_column, days, next_days=0) -%}
    {%- if days -%}
        {{ day_column }} between cast('{{ days[0] }}' as date)
            and cast('{{ days[-1] }}' as date) + interval {{ next_days }} day
        and (
            list_contains(cast(['{{ days | join("', '") }}'] as date []), {{ day_column }})
            {%- if next_days %}
                or list_contains(
                    cast(['{{ days | join("', '") }}'] as date []),
                    cast({{ day_column }} - interval {{ next_days }} day as date)
                )
            {%- endif %}
        )
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}

{#-
    What fct_household_status_monthly rebuilds on an incremental run. Returns {'from_month': a SQL date,
    'changed': a query of household_id, 'as_of': the as-of day to move the stored as-of month to, or none}.
    - 'changed': every month of each household whose source rows (household, status events, members) were
      loaded since the table's watermark (its greatest source_extracted_at): a status change, a move, a
      deletion or a new member.
    - An ordinary day (the as-of day, not pinned by var as_of_date, is later in the month the table already
      ends with): no month is rebuilt for every household. The other households' labels on the new as-of day are the ones stored (they had no
      status event), so the pre-hook only moves that month's snapshot_date to the new day ('as_of').
    - Any other day (a new month began, or the as-of day went back): every household's rows from the latest
      stored month on ('from_month'), as a new month adds a row per household and closes the one before.
    The bounds are read once, as literals, so the pre-hooks and the model's insert select the same rows.
    Call it only when is_incremental().
-#}
{% macro monthly_rebuild_scope() -%}
    {% if run_query is not defined %}
        {{ return({'from_month': "date '0001-01-01'", 'changed': none, 'as_of': none}) }}
    {% endif %}
    {% set bounds = run_query(
        "select cast(max(month_start) as varchar), cast(max(source_extracted_at) as varchar),"
        ~ " cast(max(snapshot_date) as varchar) from " ~ this
    ).rows[0] %}
    {% if bounds[0] is none %}
        {{ return({
            'from_month': "date '0001-01-01'",
            'changed': 'select null::bigint as household_id where false',
            'as_of': none,
        }) }}
    {% endif %}
    {% set as_of = run_query(
        "select cast(as_of_date as varchar), cast(date_trunc('month', as_of_date) as date) = cast('"
        ~ bounds[0] ~ "' as date) and as_of_date >= cast('" ~ bounds[2] ~ "' as date) from " ~ ref('data_as_of')
    ).rows[0] %}
    {% set changed = households_loaded_after(
        ['stg_app__households', 'stg_app__status_events', 'stg_app__persons'], bounds[1]
    ) %}
    {#- a pinned as-of day (var as_of_date) may hold status events loaded before it: rebuild the month -#}
    {% if as_of[1] and var('as_of_date', none) is none %}
        {{ return({'from_month': "date '9999-12-31'", 'changed': changed, 'as_of': as_of[0]}) }}
    {% endif %}
    {%- set from_month -%}
        least(cast('{{ bounds[0] }}' as date), cast(date_trunc('month', {{ as_of_date() }}) as date))
    {%- endset -%}
    {{ return({'from_month': from_month, 'changed': changed, 'as_of': none}) }}
{%- endmacro %}

{#- The first pre-hook of fct_household_status_monthly: delete the rows the run is about to insert again. -#}
{% macro delete_monthly_rows_to_rebuild() -%}
    {%- if is_incremental() -%}
        {%- set scope = monthly_rebuild_scope() -%}
        delete from {{ this }}
        where month_start >= {{ scope.from_month }} or household_id in ({{ scope.changed }})
    {%- endif -%}
{%- endmacro %}

{#- Its second pre-hook: on an ordinary day, the stored as-of month now stands on the new as-of day. -#}
{% macro move_monthly_snapshot_day() -%}
    {%- if is_incremental() -%}
        {%- set scope = monthly_rebuild_scope() -%}
        {%- if scope.as_of -%}
            update {{ this }}
            set snapshot_date = cast('{{ scope.as_of }}' as date)
            where
                month_start = cast(date_trunc('month', cast('{{ scope.as_of }}' as date)) as date)
                and snapshot_date != cast('{{ scope.as_of }}' as date)
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#-
    Stop with a clear message when the incremental table was built by an earlier version of the project
    without the columns its incremental logic reads: a full refresh rebuilds it with them.
-#}
{% macro require_columns(columns) -%}
    {% if execute and is_incremental() %}
        {% set have = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list %}
        {% set missing = columns | reject('in', have) | list %}
        {% if missing %}
            {{ exceptions.raise_compiler_error(
                this ~ " was built by an earlier version of the project (no column " ~ missing | join(", ")
                ~ "): rebuild it once with `fupin transform --full-refresh` (or dbt build --full-refresh)"
            ) }}
        {% endif %}
    {% endif %}
{%- endmacro %}
