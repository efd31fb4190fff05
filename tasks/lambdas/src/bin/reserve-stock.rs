//! The `reserve-stock` task as a Lambda function.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stepcart_lambdas::run(stepcart_tasks::Task::ReserveStock).await
}
