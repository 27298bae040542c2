{#-
    Incremental models keyed by household (dim_household, dim_person, fct_status_change, fct_income,
    household_members) rebuild only the households whose source rows changed. Their watermark is the column
    source_extracted_at: on every row a build writes, the greatest _extracted_at of the sources it read (a
    constant of the build). A row loaded later than the table's greatest source_extracted_at arrived after
    the table's latest build; a build that finds nothing new writes nothing and keeps the watermark.
-#}

{#- The greatest extracted_at of the staging models named in sources: the watermark a build writes. -#}
{% macro sources_extracted_at(sources) -%}
    greatest(
        {%- for name in sources %}
            (select max(loaded.extracted_at) from {{ ref(name) }} as loaded){{ "," if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{#- A query of the household_id of the rows of the staging models in sources loaded after mark (a literal). -#}
{% macro households_loaded_after(sources, mark) -%}
    {%- for name in sources %}
        select loaded.household_id from {{ ref(name) }} as loaded
        where loaded.extracted_at > cast('{{ mark }}' as timestamptz)
        {{ "union" if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#-
    A query of the household_id of the rows of the staging models in sources loaded after this table's
    watermark. The watermark is read once, as a literal, so that every use in one run selects the same rows.
    - rekeyed: a (staging model, key) pair whose rows are this table's rows: the households those rows
      belonged to before they were loaded again (a re-sent row moved to another household) are included.
    - also: one more query of household_id to include.
    None when not incremental: the caller then builds every household.
-#}
{% macro households_loaded_since_build(sources, rekeyed=none, also=none) -%}
    {% if not (execute and is_incremental()) %}
        {{ return(none) }}
    {% endif %}
    {% set mark = run_query(
        "select coalesce(cast(max(source_extracted_at) as varchar), '-infinity') from " ~ this
    ).columns[0].values()[0] %}
    {%- set query -%}
        {{ households_loaded_after(sources, mark) }}
        {%- if rekeyed %}
            union
            select built.household_id from {{ this }} as built
            where built.{{ rekeyed[1] }} in (
                select loaded.{{ rekeyed[1] }} from {{ ref(rekeyed[0]) }} as loaded
                where loaded.extracted_at > cast('{{ mark }}' as timestamptz)
            )
        {%- endif %}
        {%- if also %}
            union
            {{ also }}
        {%- endif %}
    {%- endset -%}
    {{ return(query) }}
{%- endmacro %}

{#- The households of this table whose stored area names no longer match dim_region (a renamed area). -#}
{% macro households_with_stale_area_names() -%}
    select built.household_id from {{ this }} as built
    inner join {{ ref('dim_region') }} as regions
        on built.village_code = regions.region_code
    where
        built.village_name is distinct from regions.village_name
        or built.town_name is distinct from regions.town_name
        or built.county_name is distinct from regions.county_name
{%- endmacro %}

{#-
    A query of the household_id whose rows in the upstream model were written by a build later than this
    table's latest (its greatest dbt_built_at): what a model downstream of an incremental one must redo.
-#}
{% macro households_rebuilt_upstream(upstream) -%}
    {% if not (execute and is_incremental()) %}
        {{ return(none) }}
    {% endif %}
    {% set mark = run_query(
        "select coalesce(cast(max(dbt_built_at) as varchar), '-infinity') from " ~ this
    ).columns[0].values()[0] %}
    {{ return(households_rebuilt_after(upstream, mark)) }}
{%- endmacro %}

{#- A query of the household_id whose rows in the upstream model a build wrote after mark (a literal). -#}
{% macro households_rebuilt_after(upstream, mark) -%}
    select rebuilt.household_id from {{ ref(upstream) }} as rebuilt
    where rebuilt.dbt_built_at > cast('{{ mark }}' as timestamp)
{%- endmacro %}

{#- A filter on the household column: the households of query `changed`, or every row when it is none. -#}
{% macro in_households(column, changed) -%}
    {%- if changed is none -%}
        true
    {%- else -%}
        {{ column }} in ({{ changed }})
    {%- endif -%}
{%- endmacro %}

{#- Age in whole years on a day: the same expression in full and incremental builds. -#}
{% macro age_on(birth_date, day) -%}
    date_diff('year', {{ birth_date }}, {{ day }})
    - case when strftime({{ birth_date }}, '%m-%d') > strftime({{ day }}, '%m-%d') then 1 else 0 end
{%- endmacro %}

{#-
    The pre-hook of a household-keyed model whose households can leave it (household_members: a household
    whose every member was deleted has no row): delete the rows of the households the run rebuilds from the
    upstream model, before the insert.
-#}
{% macro delete_households_rebuilt_upstream(upstream) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where household_id in ({{ households_rebuilt_upstream(upstream) }})
    {%- endif -%}
{%- endmacro %}
