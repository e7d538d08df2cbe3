use super::Tx;

/// Records a platform notification; false when it was recorded before (a retry or a
/// duplicate), in which case the caller changes nothing.
pub async fn record(
    tx: &mut Tx,
    notify_id: &str,
    event: &str,
    order_no: &str,
    now_ms: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO platform_notifications (notify_id, event, order_no, received_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (notify_id) DO NOTHING",
    )
    .bind(notify_id)
    .bind(event)
    .bind(order_no)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
