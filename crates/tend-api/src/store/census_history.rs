//! Occupancy over time: the daily series of a facility's census, read from
//! `census_history` (written by a trigger on every census or bed change).

use chrono::NaiveDate;
use sqlx::PgConnection;
use tend_domain::wire::CensusPoint;
use tend_domain::{occupancy_rate, HistoryDays};

use crate::error::Result;

#[derive(sqlx::FromRow)]
struct Row {
    day: NaiveDate,
    current_census: Option<i32>,
    licensed_beds: Option<i32>,
}

/// One point per day for the last `days` days (today included) in the
/// facility's time zone, oldest first: each day's last recorded census, or
/// the latest earlier one carried forward; none before the first record.
/// Returns the zone the days were counted in (`timezone` if the server knows
/// it, else UTC) with the points.
pub async fn daily(
    conn: &mut PgConnection,
    facility_id: i64,
    timezone: &str,
    days: HistoryDays,
) -> Result<(String, Vec<CensusPoint>)> {
    let zone: String = sqlx::query_scalar("SELECT tend_zone_or_utc($1)")
        .bind(timezone)
        .fetch_one(&mut *conn)
        .await?;
    // One index probe per day: the last row before the next local midnight.
    let rows: Vec<Row> = sqlx::query_as(
        "WITH days AS ( \
           SELECT ((now() AT TIME ZONE $2)::date - g) AS day FROM generate_series(0, $3 - 1) AS g \
         ) \
         SELECT days.day, h.current_census, h.licensed_beds FROM days \
         LEFT JOIN LATERAL ( \
           SELECT current_census, licensed_beds FROM census_history \
           WHERE facility_id = $1 AND recorded_at < ((days.day + 1)::timestamp AT TIME ZONE $2) \
           ORDER BY recorded_at DESC, id DESC LIMIT 1 \
         ) h ON true \
         ORDER BY days.day",
    )
    .bind(facility_id)
    .bind(&zone)
    .bind(i32::from(days.get()))
    .fetch_all(&mut *conn)
    .await?;
    let points = rows
        .into_iter()
        .map(|r| CensusPoint {
            date: r.day,
            current_census: r.current_census,
            licensed_beds: r.licensed_beds,
            occupancy_rate: r
                .current_census
                .and_then(|census| occupancy_rate(r.licensed_beds, census)),
        })
        .collect();
    Ok((zone, points))
}
