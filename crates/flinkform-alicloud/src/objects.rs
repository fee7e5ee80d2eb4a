//! The objects of a bucket, as far as flinkform deals with them: counted on refresh (a
//! bucket that holds any is kept by destroy unless the user confirms the count), and
//! deleted with the bucket once confirmed.
//!
//! The service writes `artifacts/`, `flink-jobs/`, `flink-savepoints/` and `logs/` into a
//! workspace's bucket (seed 000); jobs write their data there.

use flinkform_core::{ProviderErrorKind, Region};

use crate::client::{ApiError, Client, OssMethod};
use crate::wire;

/// At most this many keys per `ListObjectsV2` page and per `DeleteMultipleObjects` call.
const PAGE: usize = 1000;

/// Every key of `bucket` (`ListObjectsV2`, paged by continuation token).
pub(crate) async fn keys(
    client: &Client,
    region: &Region,
    bucket: &str,
) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut query = vec![
            ("list-type".to_owned(), "2".to_owned()),
            ("max-keys".to_owned(), PAGE.to_string()),
        ];
        if let Some(t) = &token {
            query.push(("continuation-token".to_owned(), t.clone()));
        }
        let (_, text) = client.oss_read(region, Some(bucket), None, &query).await?;
        let page: wire::ObjectPage = quick_xml::de::from_str(&text).map_err(|e| {
            ApiError::local(
                ProviderErrorKind::Fatal,
                "ListObjectsV2",
                format!("unreadable answer: {e}"),
            )
        })?;
        out.extend(page.contents.into_iter().map(|c| c.key));
        token = page.next_continuation_token.filter(|t| !t.is_empty());
        if page.is_truncated.as_deref() != Some("true") || token.is_none() {
            return Ok(out);
        }
    }
}

/// How many objects `bucket` holds.
pub(crate) async fn count(client: &Client, region: &Region, bucket: &str) -> Result<i64, ApiError> {
    let n = keys(client, region, bucket).await?.len();
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Deletes every object of `bucket`, after checking that it holds no more than the
/// `confirmed` count the user saw in the plan (compare before modify: job data written
/// since is never deleted unseen).
///
/// # Errors
/// `Conflict` when it holds more than confirmed; API errors of the listing or deletion.
pub(crate) async fn empty(
    client: &Client,
    region: &Region,
    bucket: &str,
    confirmed: u64,
) -> Result<(), ApiError> {
    let keys = keys(client, region, bucket).await?;
    let now = u64::try_from(keys.len()).unwrap_or(u64::MAX);
    if now > confirmed {
        return Err(ApiError::local(
            ProviderErrorKind::Conflict,
            "DeleteMultipleObjects",
            format!(
                "bucket `{bucket}` holds {now} object(s) now, more than the {confirmed} confirmed in the plan; nothing was deleted: plan again and confirm the new count"
            ),
        ));
    }
    for batch in keys.chunks(PAGE) {
        let body = wire::delete_xml(batch).into_bytes();
        client
            .oss(OssMethod::Post, region, Some(bucket), Some("delete"), body)
            .await?;
    }
    Ok(())
}
