//! Marketplace (market 2015-11-01) buyer-side actions: `CreateOrder` (idempotent by
//! `ClientToken`; places the order and provisions the instance through the vendor's SPI),
//! `DescribeOrder`, `DescribeInstance`, `DescribeInstances` (reference §4.1 shapes).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{ApiError, Call, page};
use crate::market::{MarketInstance, MarketOrder};

const PRODUCT_NAME: &str = "Commercial Plan (emulated SaaS)";
const SUPPLIER: &str = "Emulated SaaS Vendor Ltd.";
/// Far future end of a pay-as-you-go instance (2099-12-31).
const POSTPAY_END_MS: i64 = 4_102_358_400_000;
const DAY_MS: i64 = 86_400_000;

fn unknown() -> ApiError {
    ApiError::new(
        500,
        "UnknownError",
        "The request processing has failed due to some unknown error.",
    )
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("InvalidParameter", message)
}

/// The required keys of `Commodity`, checked; returns the canonical JSON and the fields.
struct Commodity {
    canonical: String,
    product_code: String,
    sku_code: String,
    package_version: String,
    pricing_cycle: String,
    duration: i64,
}

fn commodity(raw: &str) -> Result<Commodity, ApiError> {
    let v: Value = serde_json::from_str(raw)
        .map_err(|e| invalid(format!("The parameter Commodity is not valid JSON: {e}")))?;
    let s = |k: &str| -> Result<String, ApiError> {
        v.get(k)
            .and_then(|x| match x {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid(format!("The Commodity lacks the key {k}.")))
    };
    let product_code = s("productCode")?;
    let sku_code = s("skuCode")?;
    let pricing_cycle = s("pricingCycle")?;
    let duration: i64 = s("duration")?
        .parse()
        .map_err(|_| invalid("The Commodity key duration is not a number."))?;
    let package_version = v
        .get("components")
        .and_then(|c| c.get("package_version"))
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| invalid("The Commodity components lack package_version."))?
        .to_owned();
    if sku_code != format!("{product_code}-postpay") && sku_code != format!("{product_code}-prepay")
    {
        return Err(ApiError::bad_request(
            "InvalidSkuCode",
            format!("The skuCode {sku_code} does not belong to product {product_code}."),
        ));
    }
    if !matches!(pricing_cycle.as_str(), "Day" | "Month" | "Year") {
        return Err(invalid(format!(
            "The pricingCycle {pricing_cycle} is not one of Day, Month, Year."
        )));
    }
    if !(1..=256).contains(&duration) {
        return Err(invalid("The duration must be between 1 and 256."));
    }
    Ok(Commodity {
        canonical: serde_json::to_string(&v).unwrap_or_default(),
        product_code,
        sku_code,
        package_version,
        pricing_cycle,
        duration,
    })
}

pub(crate) fn create_order(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let order_type = call.params.require("OrderType")?.to_owned();
    if order_type != "INSTANCE_BUY" {
        return Err(invalid(format!(
            "The OrderType {order_type} is not supported here (only INSTANCE_BUY)."
        )));
    }
    let payment = call.params.require("PaymentType")?.to_owned();
    if payment != "AUTO" && payment != "HAND" {
        return Err(invalid("The PaymentType must be AUTO or HAND."));
    }
    let token = call.params.require("ClientToken")?.to_owned();
    if token.len() > 64 || !token.is_ascii() {
        return Err(invalid(
            "The ClientToken must be at most 64 ASCII characters.",
        ));
    }
    let c = commodity(call.params.require("Commodity")?)?;
    let uid = call.uid.clone();
    let now = call.now;
    let key = format!("{uid}:{token}");
    if let Some(order_id) = call.world.market.tokens.get(&key).cloned() {
        let order = call
            .world
            .market
            .orders
            .get(&order_id)
            .ok_or_else(unknown)?;
        if order.commodity != c.canonical {
            return Err(ApiError::bad_request(
                "IdempotentParameterMismatch",
                "The request uses the same ClientToken as a previous, but non-identical request.",
            ));
        }
        return Ok(order_answer(&order.id, &order.instance_id));
    }
    let w = &mut *call.world;
    w.market.counter += 1;
    let order_id = format!("2026{:011}", w.order_id() % 100_000_000_000);
    let instance_id = format!("{}", 5_600_000 + w.market.counter);
    let end_ms = if c.sku_code.ends_with("-postpay") {
        POSTPAY_END_MS
    } else {
        // Calendar months and years (the day of the month clamped at a month's end).
        let months = u32::try_from(c.duration).unwrap_or(u32::MAX);
        match c.pricing_cycle.as_str() {
            "Year" => crate::world::add_months(now, months.saturating_mul(12)),
            "Day" => now + c.duration * DAY_MS,
            _ => crate::world::add_months(now, months),
        }
    };
    w.market.orders.insert(
        order_id.clone(),
        MarketOrder {
            id: order_id.clone(),
            uid: uid.clone(),
            product_code: c.product_code.clone(),
            sku_code: c.sku_code.clone(),
            package_version: c.package_version.clone(),
            pricing_cycle: c.pricing_cycle.clone(),
            duration: c.duration,
            instance_id: instance_id.clone(),
            created_ms: now,
            commodity: c.canonical.clone(),
        },
    );
    w.market.tokens.insert(key, order_id.clone());
    // The Marketplace asks the vendor to provision the instance.
    let mut spi = BTreeMap::new();
    spi.insert("action".to_owned(), "createInstance".to_owned());
    spi.insert("aliUid".to_owned(), uid.clone());
    spi.insert("orderBizId".to_owned(), instance_id.clone());
    spi.insert("orderId".to_owned(), order_id.clone());
    spi.insert("productCode".to_owned(), c.product_code.clone());
    spi.insert("skuId".to_owned(), c.sku_code.clone());
    spi.insert("trial".to_owned(), "false".to_owned());
    let provisioned = w.call_spi(spi);
    let opened = provisioned.status == 200
        && provisioned.body.get("instanceId").and_then(Value::as_str) == Some(instance_id.as_str());
    let app_json = provisioned
        .body
        .get("appInfo")
        .map(Value::to_string)
        .unwrap_or_default();
    w.market.instances.insert(
        instance_id.clone(),
        MarketInstance {
            id: instance_id.clone(),
            order_id: order_id.clone(),
            uid,
            product_code: c.product_code,
            sku_code: c.sku_code,
            package_version: c.package_version,
            status: if opened { "OPENED" } else { "OPENING" }.to_owned(),
            began_ms: now,
            end_ms,
            created_ms: now,
            app_json,
        },
    );
    Ok(order_answer(&order_id, &instance_id))
}

fn order_answer(order_id: &str, instance_id: &str) -> Value {
    json!({
        "OrderId": order_id,
        "InstanceIds": { "InstanceId": [instance_id] },
    })
}

fn period_type(cycle: &str) -> &'static str {
    match cycle {
        "Year" => "YEAR",
        "Day" => "ONCE",
        _ => "MONTH",
    }
}

pub(crate) fn describe_order(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let id = call.params.require("OrderId")?;
    let o = call
        .world
        .market
        .orders
        .get(id)
        .filter(|o| o.uid == call.uid)
        .ok_or_else(unknown)?;
    Ok(json!({
        "OrderId": o.id.parse::<u64>().unwrap_or(0),
        "OrderStatus": "NORMAL",
        "PayStatus": "PAID",
        "OrderType": "NEW",
        "PeriodType": period_type(&o.pricing_cycle),
        "ProductCode": o.product_code,
        "ProductSkuCode": o.sku_code,
        "ProductName": PRODUCT_NAME,
        "Quantity": 1,
        "AccountQuantity": 1,
        "AliUid": o.uid.parse::<u64>().unwrap_or(0),
        "InstanceIds": { "InstanceId": [o.instance_id] },
        "Components": { "package_version": { "code": "package_version", "name": "Package", "value": o.package_version, "globarKey": "package_version" } },
        "OriginalPrice": 0.0,
        "TotalPrice": 0.0,
        "PaymentPrice": 0.0,
        "CouponPrice": 0.0,
        "CreatedOn": o.created_ms,
        "PaidOn": o.created_ms,
        "SupplierCompanyName": SUPPLIER,
        "SupplierTelephones": { "Telephone": ["+65 0000 0000"] },
    }))
}

fn instance_json(i: &MarketInstance, full: bool) -> Value {
    let mut v = json!({
        "InstanceId": i.id.parse::<u64>().unwrap_or(0),
        "OrderId": i.order_id.parse::<u64>().unwrap_or(0),
        "ProductCode": i.product_code,
        "ProductSkuCode": i.sku_code,
        "ProductName": PRODUCT_NAME,
        "ProductType": "APP",
        "Status": i.status,
        "BeganOn": i.began_ms,
        "EndOn": i.end_ms,
        "CreatedOn": i.created_ms,
        "AppJson": i.app_json,
        "HostJson": "",
        "ExtendJson": "",
        "SupplierName": SUPPLIER,
    });
    if let Value::Object(m) = &mut v {
        if full {
            m.insert("IsTrial".into(), json!(false));
            m.insert(
                "ComponentJson".into(),
                json!(json!({ "package_version": i.package_version }).to_string()),
            );
            m.insert("ActiveAddress".into(), json!(""));
            m.insert("AutoRenewal".into(), json!("false"));
            m.insert("LicenseCode".into(), json!(""));
            m.insert(
                "RelationalData".into(),
                json!({ "ServiceStatus": if i.status == "OPENED" { "NORMAL" } else { "STOPPED" } }),
            );
            m.insert("Modules".into(), json!({ "Module": [] }));
        } else {
            m.insert("ApiJson".into(), json!(""));
            m.insert("ImageJson".into(), json!(""));
            m.insert("IdaasJson".into(), json!(""));
        }
    }
    v
}

pub(crate) fn describe_instance(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let id = call.params.require("InstanceId")?;
    let i = call
        .world
        .market
        .instances
        .get(id)
        .filter(|i| i.uid == call.uid)
        .ok_or_else(unknown)?;
    Ok(instance_json(i, true))
}

pub(crate) fn describe_instances(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let page_num = call.params.int("PageNumber", 1)?.max(1);
    let page_size = call.params.int("PageSize", 10)?;
    if page_size == 0 || page_size > 100 {
        return Err(invalid("The parameter PageSize must be between 1 and 100."));
    }
    let codes: Option<Vec<&str>> = call.params.get("Codes").map(|s| s.split(',').collect());
    let except: Option<Vec<&str>> = call
        .params
        .get("ExceptCodes")
        .map(|s| s.split(',').collect());
    if codes.is_some() && except.is_some() {
        return Err(invalid("Codes and ExceptCodes are mutually exclusive."));
    }
    let product_type = call.params.get("ProductType");
    let items: Vec<Value> = call
        .world
        .market
        .instances
        .values()
        .filter(|i| i.uid == call.uid)
        .filter(|i| {
            codes
                .as_ref()
                .is_none_or(|c| c.contains(&i.product_code.as_str()))
        })
        .filter(|i| {
            except
                .as_ref()
                .is_none_or(|c| !c.contains(&i.product_code.as_str()))
        })
        .filter(|_| product_type.is_none_or(|t| t == "APP"))
        .map(|i| instance_json(i, false))
        .collect();
    let total = items.len();
    Ok(json!({
        "PageNumber": page_num,
        "PageSize": page_size,
        "TotalCount": total,
        "InstanceItems": { "InstanceItem": page(&items, page_num, page_size) },
    }))
}
