-- The APP looks up a demand's tasks when the demand moves on.
create index tasks_demand on app.tasks (demand_id);
