//! The `checkout-status` function: `GET /checkouts/{id}` answers a checkout's status and, while it waits
//! for 3-D Secure, how to finish the authentication.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stepcart_lambdas::run_status().await
}
