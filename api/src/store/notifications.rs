use super::Exec;

/// Records a platform notification; false when it was recorded before (a retry or a
/// duplicate), in which case the caller changes nothing.
pub async fn record(
    tx: &mut impl Exec,
    notify_id: &str,
    event: &str,
    order_no: &str,
    now_ms: i64,
) -> sqlx::Result<bool> {
    let done = tx
        .execute(
            "INSERT INTO platform_notifications (notify_id, event, order_no, received_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (notify_id) DO NOTHING",
            &[notify_id.into(), event.into(), order_no.into(), now_ms.into()],
        )
        .await?;
    Ok(done == 1)
}
