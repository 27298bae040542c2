-- One row per village support team (驻村扶贫工作队): where it is, who sent it, its leader and members.
with

teams as (

    select * from {{ ref('stg_app__support_teams') }}

),

cadres as (

    select * from {{ ref('stg_app__cadres') }}

),

regions as (

    select * from {{ ref('dim_region') }}

),

members as (

    select
        team_id,
        count(*) as team_members
    from cadres
    where team_id is not null and not is_deleted
    group by team_id

),

final as (

    select
        teams.team_id,
        teams.team_name,
        regions.county_code,
        regions.town_code,
        teams.village_code,
        teams.sponsor_unit,
        teams.leader_cadre_id,
        leaders.cadre_name as leader_name,
        coalesce(members.team_members, 0) as team_members,
        teams.is_deleted
    from teams
    left join regions
        on teams.village_code = regions.region_code
    left join cadres as leaders
        on teams.leader_cadre_id = leaders.cadre_id
    left join members
        on teams.team_id = members.team_id

)

select * from final
