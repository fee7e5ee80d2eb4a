//! Alibaba Cloud OpenAPI client (ACS3-HMAC-SHA256, endpoints, credentials, typed errors) and the resource provider
