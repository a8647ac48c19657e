//! The names and texts traces are made of: an online shop's services, routes, tables and errors.

pub(super) const SERVICE_NAMES: &[&str] = &[
    "frontend",
    "checkout",
    "cart",
    "payment",
    "inventory",
    "shipping",
    "accounts",
    "search",
    "recommendation",
    "notification",
    "pricing",
    "fraud-detection",
];

pub(super) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/orders/{orderId}"),
    ("POST", "/api/v1/orders"),
    ("GET", "/api/v1/cart/{userId}/items"),
    ("PUT", "/api/v1/cart/{userId}/items/{itemId}"),
    ("GET", "/api/v1/products/{productId}"),
    ("GET", "/api/v2/search"),
    ("POST", "/api/v1/payments/{paymentId}/capture"),
    ("GET", "/api/v1/users/{userId}/profile"),
    ("DELETE", "/api/v1/sessions/{sessionId}"),
    ("GET", "/healthz"),
];

pub(super) const TABLES: &[&str] =
    &["orders", "order_items", "customers", "products", "inventory_levels", "payments", "shipments"];
pub(super) const COLUMNS: &[&str] = &[
    "id",
    "customer_id",
    "status",
    "created_at",
    "updated_at",
    "total_amount_cents",
    "currency",
    "sku",
    "quantity",
    "warehouse_id",
    "shipping_address_id",
    "discount_code",
];
pub(super) const INTERNAL_OPERATIONS: &[&str] = &[
    "compute-price",
    "validate-cart",
    "serialize-response",
    "load-user-session",
    "apply-discounts",
    "check-feature-flags",
    "render-template",
];
pub(super) const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "okhttp/4.12.0",
    "python-requests/2.32.3",
    "Go-http-client/2.0",
];
pub(super) const WORDS: &[&str] = &[
    "request",
    "customer",
    "timeout",
    "retrying",
    "upstream",
    "cache",
    "warm",
    "partition",
    "checkout",
    "basket",
    "token",
    "expired",
    "refreshed",
    "quota",
    "degraded",
    "fallback",
    "primary",
    "replica",
    "shard",
    "lookup",
    "batch",
];
pub(super) const ERRORS: &[(&str, &str)] = &[
    ("java.net.SocketTimeoutException", "Read timed out after 2000 ms"),
    ("io.grpc.StatusRuntimeException", "UNAVAILABLE: upstream connect error or disconnect/reset before headers"),
    ("org.postgresql.util.PSQLException", "ERROR: could not serialize access due to concurrent update"),
    ("java.lang.IllegalStateException", "cart is empty"),
];
