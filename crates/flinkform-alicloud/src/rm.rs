//! ResourceManager 2020-03-31 (global, `resourcemanager.aliyuncs.com`): the account's
//! resource groups (`ListResourceGroups`, read into the account facts when a spec names a
//! group) and the in-place change of a workspace's group (`MoveResources`; Flink
//! workspaces are `Service` `stream`, `ResourceType` `vvpinstance`).

use std::collections::BTreeSet;

use flinkform_core::Region;
use serde_json::Value as Json;

use crate::client::{ApiError, Client, RpcMethod, classify};
use crate::endpoint::Product;
use crate::wire;

/// The action that moves resources between groups.
pub(crate) const MOVE: &str = "MoveResources";

/// How ResourceManager names a fully managed Flink workspace: `(Service, ResourceType)`.
pub(crate) const WORKSPACE: (&str, &str) = ("stream", "vvpinstance");

/// The ids of every resource group of the account (its default group included).
pub(crate) async fn group_ids(client: &Client) -> Result<BTreeSet<String>, ApiError> {
    let pages = crate::provider::Paging {
        page_key: "PageNumber",
        size_key: "PageSize",
        size: 100,
        items: &["ResourceGroups", "ResourceGroup"],
        total: &["TotalCount"],
    };
    let list = crate::provider::paged(
        client,
        Product::ResourceManager,
        None,
        "ListResourceGroups",
        Vec::new(),
        RpcMethod::Post,
        pages,
        |g| wire::string_at(&g, &["Id"]),
    )
    .await?;
    Ok(list.into_iter().collect())
}

/// The `MoveResources` parameters that move resource `id` (`service`, `resource_type`) of
/// `region` into group `group`.
pub(crate) fn move_params(
    (service, resource_type): (&str, &str),
    region: &Region,
    id: &str,
    group: &str,
) -> Vec<(String, String)> {
    [
        ("ResourceGroupId", group),
        ("Resources.1.ResourceId", id),
        ("Resources.1.ResourceType", resource_type),
        ("Resources.1.RegionId", region.as_str()),
        ("Resources.1.Service", service),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// Moves resource `id` into group `group`. The call succeeds as a whole even when a
/// resource could not move: a `FAIL` entry of `Responses` is an error with its
/// `ErrorCode` and `ErrorMsg`.
pub(crate) async fn move_to_group(
    client: &Client,
    what: (&str, &str),
    region: &Region,
    id: &str,
    group: &str,
) -> Result<(), ApiError> {
    let resp = client
        .rpc(
            Product::ResourceManager,
            None,
            MOVE,
            move_params(what, region, id, group),
            RpcMethod::Post,
        )
        .await?;
    failure(&resp).map_or(Ok(()), Err)
}

/// The first `FAIL` entry of a `MoveResources` answer, as an error.
pub(crate) fn failure(resp: &Json) -> Option<ApiError> {
    let failed = wire::list_at(resp, &["Responses"])
        .iter()
        .find(|r| wire::string_at(r, &["Status"]).as_deref() == Some("FAIL"))?
        .clone();
    let code = wire::string_at(&failed, &["ErrorCode"]);
    let id = wire::string_at(&failed, &["ResourceId"]).unwrap_or_default();
    let message = wire::string_at(&failed, &["ErrorMsg"])
        .unwrap_or_else(|| format!("resource {id} was not moved"));
    Some(ApiError {
        kind: classify(None, code.as_deref(), false),
        action: MOVE.to_owned(),
        code,
        message,
        request_id: wire::string_at(&failed, &["RequestId"])
            .or_else(|| wire::string_at(resp, &["RequestId"])),
        http_status: None,
        retry_after_ms: None,
    })
}

#[cfg(test)]
mod tests {
    use flinkform_core::ProviderErrorKind;
    use serde_json::json;

    use super::*;

    #[test]
    fn a_workspace_moves_as_stream_vvpinstance() {
        let region = Region::new("cn-hangzhou").expect("region");
        assert_eq!(
            move_params(WORKSPACE, &region, "f-cn-1", "rg-acfm2"),
            [
                ("ResourceGroupId", "rg-acfm2"),
                ("Resources.1.ResourceId", "f-cn-1"),
                ("Resources.1.ResourceType", "vvpinstance"),
                ("Resources.1.RegionId", "cn-hangzhou"),
                ("Resources.1.Service", "stream"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn a_failed_entry_is_an_error_with_its_code_and_message() {
        let ok = json!({"RequestId": "R", "Responses": [
            {"ResourceId": "f-1", "Status": "SUCCESS", "RequestId": "R1"}
        ]});
        assert!(failure(&ok).is_none());
        let failed = json!({"RequestId": "R", "Responses": [
            {"ResourceId": "f-1", "Status": "FAIL", "RequestId": "R1",
             "ErrorCode": "EntityNotExists.Resource", "ErrorMsg": "The resource f-1 does not exist."}
        ]});
        let e = failure(&failed).expect("an error");
        assert_eq!(e.code.as_deref(), Some("EntityNotExists.Resource"));
        assert_eq!(e.message, "The resource f-1 does not exist.");
        assert_eq!(e.request_id.as_deref(), Some("R1"));
        assert_eq!(e.kind, ProviderErrorKind::NotFound);
        assert_eq!(e.action, MOVE);
    }
}
