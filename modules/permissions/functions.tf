# The functions stepcart deploys and what each may do: the matrix "Who does what" of docs/data-model.md,
# as data. scripts/infra_tests/test_consistency.py checks it against the document, against
# tasks/lambdas/src/bin and against the ${..._function_arn} placeholders of workflows/checkout.asl.json.
#
# placeholder: the ASL placeholder the function's ARN fills (null: not a Task of the state machine).
# tables: logical table => { actions, leading_keys } (leading_keys: dynamodb:LeadingKeys patterns, [] = any).
# describe_executions: states:DescribeExecution on the executions of this environment's checkout state machine
# (and STEPCART_STATE_MACHINE_ARN in the environment).

locals {
  functions = {
    "validate-cart" = {
      description           = "Checks the checkout request and the catalog rules (InvalidCart)."
      placeholder           = "validate_cart_function_arn"
      timeout               = 25
      stripe_secret_key     = false
      stripe_webhook_secret = false
      task_callbacks        = false
      publish_notifications = false
      describe_executions   = false
      tables = {
        catalog = { actions = ["GetItem", "BatchGetItem"], leading_keys = [] }
      }
    }
    "reserve-stock" = {
      description           = "Reserves every line of the cart in one DynamoDB transaction (OutOfStock)."
      placeholder           = "reserve_stock_function_arn"
      timeout               = 25
      stripe_secret_key     = false
      stripe_webhook_secret = false
      task_callbacks        = false
      publish_notifications = false
      describe_executions   = false
      tables = {
        stock        = { actions = ["Query", "UpdateItem"], leading_keys = [] }
        reservations = { actions = ["GetItem", "PutItem"], leading_keys = [] }
      }
    }
    "price-order" = {
      description           = "Prices the cart with its discount, in integer minor units."
      placeholder           = "price_order_function_arn"
      timeout               = 25
      stripe_secret_key     = false
      stripe_webhook_secret = false
      task_callbacks        = false
      publish_notifications = false
      describe_executions   = false
      tables = {
        catalog = { actions = ["GetItem", "BatchGetItem"], leading_keys = [] }
      }
    }
    "authorize-payment" = {
      description           = "Creates and confirms the Stripe PaymentIntent with the checkout's idempotency key (PaymentDeclined)."
      placeholder           = "authorize_payment_function_arn"
      timeout               = 25
      stripe_secret_key     = true
      stripe_webhook_secret = false
      task_callbacks        = false
      publish_notifications = false
      describe_executions   = false
      tables = {
        payments = { actions = ["GetItem", "PutItem", "UpdateItem"], leading_keys = ["PAYMENT#*"] }
      }
    }
    "await-payment-authentication" = {
      description           = "Registers the task token waiting for 3-D Secure; completes it if the outcome is already known."
      placeholder           = "await_payment_authentication_function_arn"
      timeout               = 25
      stripe_secret_key     = true
      stripe_webhook_secret = false
      task_callbacks        = true
      publish_notifications = false
      describe_executions   = false
      tables = {
        payments = { actions = ["PutItem"], leading_keys = ["WAIT#*"] }
      }
    }
    "create-order" = {
      description           = "Places the order and commits the reservation in one transaction, only for a captured payment (OrderFailed)."
      placeholder           = "create_order_function_arn"
      timeout               = 25
      stripe_secret_key     = true
      stripe_webhook_secret = false
      task_callbacks        = false
      publish_notifications = false
      describe_executions   = false
      tables = {
        orders       = { actions = ["GetItem", "PutItem"], leading_keys = [] }
        reservations = { actions = ["GetItem", "UpdateItem"], leading_keys = [] }
        stock        = { actions = ["UpdateItem"], leading_keys = [] }
      }
    }
    "notify-customer" = {
      description           = "Publishes the order confirmation or payment failure once per deduplication key."
      placeholder           = "notify_customer_function_arn"
      timeout               = 25
      stripe_secret_key     = false
      stripe_webhook_secret = false
      task_callbacks        = false
      publish_notifications = true
      describe_executions   = false
      tables = {
        idempotency = { actions = ["GetItem", "PutItem", "UpdateItem"], leading_keys = ["NOTIFY#*"] }
      }
    }
    "refund-payment" = {
      description           = "Compensation: refunds (or cancels) the checkout's payment in full, idempotently."
      placeholder           = "refund_payment_function_arn"
      timeout               = 25
      stripe_secret_key     = true
      stripe_webhook_secret = false
      task_callbacks        = false
      publish_notifications = false
      describe_executions   = false
      tables = {
        payments = { actions = ["GetItem", "UpdateItem"], leading_keys = ["PAYMENT#*"] }
      }
    }
    "release-stock" = {
      description           = "Compensation: moves the checkout's reserved units back to available, idempotently."
      placeholder           = "release_stock_function_arn"
      timeout               = 25
      stripe_secret_key     = false
      stripe_webhook_secret = false
      task_callbacks        = false
      publish_notifications = false
      describe_executions   = false
      tables = {
        reservations = { actions = ["GetItem", "PutItem", "UpdateItem"], leading_keys = [] }
        stock        = { actions = ["UpdateItem"], leading_keys = [] }
      }
    }
    "stripe-webhook" = {
      description           = "POST /webhooks/stripe: verifies Stripe-Signature, deduplicates events, resumes the execution waiting for 3-D Secure."
      placeholder           = null
      timeout               = 10
      stripe_secret_key     = false
      stripe_webhook_secret = true
      task_callbacks        = true
      publish_notifications = false
      describe_executions   = false
      tables = {
        payments    = { actions = ["GetItem", "DeleteItem"], leading_keys = ["WAIT#*"] }
        idempotency = { actions = ["PutItem", "UpdateItem"], leading_keys = ["STRIPE_EVENT#*"] }
      }
    }
    "checkout-status" = {
      description           = "GET /checkouts/{id}: the execution's DescribeExecution fields, plus nextAction while it waits for 3-D Secure."
      placeholder           = null
      timeout               = 10
      stripe_secret_key     = true
      stripe_webhook_secret = false
      task_callbacks        = false
      publish_notifications = false
      describe_executions   = true
      tables = {
        payments = { actions = ["GetItem"], leading_keys = ["PAYMENT#*"] }
      }
    }
  }
}
