-- One row per household with members (not deleted): how many, the labour, ill and disabled ones, pupils, and
-- the member list the household card shows (head first, then by birth date). A table of its own: at scale M
-- the sorted list over 10 M persons inside the card's join of 4.1 M households needed more than DuckDB's
-- 6 GiB when the dbt run had built other models before it; alone it runs within 2 GiB and the card within 3.
--
-- Incremental by household: a run deletes (pre-hook) and inserts again the households of the dim_person rows
-- its latest build wrote (changed members, birthdays).
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_households_rebuilt_upstream('dim_person') }}",
    )
}}

{{ require_columns(['dbt_built_at']) }}

{% set changed = households_rebuilt_upstream('dim_person') %}

with

persons as (

    select * from {{ ref('dim_person') }}
    where not is_deleted and {{ in_households('household_id', changed) }}

),

final as (

    select
        household_id,
        count(*) as members,
        {{ sorted_string_agg(
            "name || '（' || relation_to_head || '，' || sex || '，' || age || '岁，' || health || '）'",
            "'；'",
            ['not is_head', 'birth_date'],
        ) }} as members_text,
        count(*) filter (where is_labour) as labour_members,
        count(*) filter (where is_ill) as ill_members,
        count(*) filter (where is_disabled) as disabled_members,
        count(*) filter (where is_in_school) as pupils,
        {{ build_time() }} as dbt_built_at
    from persons
    group by household_id

)

select * from final
