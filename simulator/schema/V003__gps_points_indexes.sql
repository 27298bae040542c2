-- GPS points are extracted incrementally by updated_at like every table, and read per cadre in time order.
create index gps_points_updated_at on app.gps_points (updated_at);
create index gps_points_cadre_time on app.gps_points (cadre_id, recorded_at);
