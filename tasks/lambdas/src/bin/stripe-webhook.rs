//! The `stripe-webhook` function: Stripe events from API Gateway resume checkouts waiting for 3-D Secure.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stepcart_lambdas::run_webhook().await
}
