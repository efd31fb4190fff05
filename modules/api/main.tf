# The public REST API of one environment:
#   POST /checkouts             -> states:StartExecution (direct AWS integration; Idempotency-Key = execution name)
#   GET  /checkouts/{id}        -> the checkout-status Lambda (proxy): DescribeExecution of {id}, plus nextAction
#   POST /webhooks/stripe       -> the stripe-webhook Lambda (proxy; the body must reach it byte for byte)

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition            = data.aws_partition.current.partition
  region               = data.aws_region.current.region
  state_machine_name   = element(split(":", var.state_machine_arn), 6)
  api_key_required     = var.authorization == "API_KEY"
  method_authorization = var.authorization == "AWS_IAM" ? "AWS_IAM" : "NONE"
  json                 = "application/json"
}

# ------------------------------------------------------------------------------------------------ the API

resource "aws_api_gateway_rest_api" "this" {
  name                         = var.name
  description                  = "stepcart checkout API (${var.name})"
  api_key_source               = "HEADER"
  disable_execute_api_endpoint = false
  tags                         = var.tags

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_model" "checkout_request" {
  rest_api_id  = aws_api_gateway_rest_api.this.id
  name         = "CheckoutRequest"
  description  = "The checkout request of shared/notes/interfaces.md."
  content_type = local.json
  schema       = file("${path.module}/schemas/checkout-request.schema.json")
}

resource "aws_api_gateway_request_validator" "body_and_parameters" {
  rest_api_id                 = aws_api_gateway_rest_api.this.id
  name                        = "body-and-parameters"
  validate_request_body       = true
  validate_request_parameters = true
}

resource "aws_api_gateway_request_validator" "parameters" {
  rest_api_id                 = aws_api_gateway_rest_api.this.id
  name                        = "parameters"
  validate_request_body       = false
  validate_request_parameters = true
}

# A validation failure names what is wrong instead of API Gateway's bare "Invalid request body".
resource "aws_api_gateway_gateway_response" "bad_request_body" {
  rest_api_id   = aws_api_gateway_rest_api.this.id
  response_type = "BAD_REQUEST_BODY"
  status_code   = "400"

  response_templates = {
    (local.json) = "{\"error\": \"InvalidRequest\", \"message\": \"$context.error.validationErrorString\"}"
  }
}

resource "aws_api_gateway_gateway_response" "default_4xx" {
  rest_api_id   = aws_api_gateway_rest_api.this.id
  response_type = "DEFAULT_4XX"

  response_templates = {
    (local.json) = "{\"error\": \"$context.error.responseType\", \"message\": $context.error.messageString}"
  }
}

resource "aws_api_gateway_gateway_response" "default_5xx" {
  rest_api_id   = aws_api_gateway_rest_api.this.id
  response_type = "DEFAULT_5XX"

  response_templates = {
    (local.json) = "{\"error\": \"$context.error.responseType\", \"message\": $context.error.messageString, \"requestId\": \"$context.requestId\"}"
  }
}

resource "aws_api_gateway_resource" "checkouts" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "checkouts"
}

resource "aws_api_gateway_resource" "checkout" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.checkouts.id
  path_part   = "{id}"
}

resource "aws_api_gateway_resource" "webhooks" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "webhooks"
}

resource "aws_api_gateway_resource" "stripe_webhook" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.webhooks.id
  path_part   = "stripe"
}

# ------------------------------------------------------------------- the role API Gateway calls Step Functions with

data "aws_iam_policy_document" "assume_role" {
  statement {
    sid     = "ApiGatewayAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "step_functions" {
  name                 = "${var.name}-api-states"
  description          = "API Gateway ${var.name}: start executions of ${local.state_machine_name} only."
  assume_role_policy   = data.aws_iam_policy_document.assume_role.json
  max_session_duration = 3600
  tags                 = var.tags
}

data "aws_iam_policy_document" "step_functions" {
  statement {
    sid       = "StartCheckouts"
    effect    = "Allow"
    actions   = ["states:StartExecution"]
    resources = [var.state_machine_arn]
  }

}

resource "aws_iam_role_policy" "step_functions" {
  name   = "start-checkouts"
  role   = aws_iam_role.step_functions.id
  policy = data.aws_iam_policy_document.step_functions.json
}

# ------------------------------------------------------------------------------------- POST /checkouts

resource "aws_api_gateway_method" "start_checkout" {
  #checkov:skip=CKV2_AWS_70:With authorization = API_KEY the method requires an API key (api_key_required); with AWS_IAM it is SigV4-authorized.
  rest_api_id          = aws_api_gateway_rest_api.this.id
  resource_id          = aws_api_gateway_resource.checkouts.id
  http_method          = "POST"
  authorization        = local.method_authorization
  api_key_required     = local.api_key_required
  request_validator_id = aws_api_gateway_request_validator.body_and_parameters.id

  request_models = {
    (local.json) = aws_api_gateway_model.checkout_request.name
  }

  request_parameters = {
    "method.request.header.Idempotency-Key" = false
  }
}

resource "aws_api_gateway_integration" "start_checkout" {
  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = aws_api_gateway_resource.checkouts.id
  http_method             = aws_api_gateway_method.start_checkout.http_method
  type                    = "AWS"
  integration_http_method = "POST"
  uri                     = "arn:${local.partition}:apigateway:${local.region}:states:action/StartExecution"
  credentials             = aws_iam_role.step_functions.arn
  passthrough_behavior    = "NEVER"
  timeout_milliseconds    = 10000

  request_templates = {
    (local.json) = templatefile("${path.module}/templates/start-execution-request.vtl", {
      state_machine_arn = var.state_machine_arn
    })
  }
}

resource "aws_api_gateway_method_response" "start_checkout" {
  for_each = toset(["200", "202", "400", "500"])

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_resource.checkouts.id
  http_method = aws_api_gateway_method.start_checkout.http_method
  status_code = each.key

  response_models = {
    (local.json) = "Empty"
  }
}

resource "aws_api_gateway_integration_response" "start_checkout_started" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_resource.checkouts.id
  http_method = aws_api_gateway_method.start_checkout.http_method
  status_code = aws_api_gateway_method_response.start_checkout["202"].status_code

  response_templates = {
    (local.json) = file("${path.module}/templates/start-execution-response.vtl")
  }

  depends_on = [aws_api_gateway_integration.start_checkout]
}

resource "aws_api_gateway_integration_response" "start_checkout_rejected" {
  rest_api_id       = aws_api_gateway_rest_api.this.id
  resource_id       = aws_api_gateway_resource.checkouts.id
  http_method       = aws_api_gateway_method.start_checkout.http_method
  status_code       = aws_api_gateway_method_response.start_checkout["400"].status_code
  selection_pattern = "4\\d{2}"

  response_templates = {
    (local.json) = file("${path.module}/templates/start-execution-error.vtl")
  }

  depends_on = [aws_api_gateway_integration.start_checkout]
}

resource "aws_api_gateway_integration_response" "start_checkout_failed" {
  rest_api_id       = aws_api_gateway_rest_api.this.id
  resource_id       = aws_api_gateway_resource.checkouts.id
  http_method       = aws_api_gateway_method.start_checkout.http_method
  status_code       = aws_api_gateway_method_response.start_checkout["500"].status_code
  selection_pattern = "5\\d{2}"

  response_templates = {
    (local.json) = "{\"error\": \"StepFunctionsUnavailable\", \"message\": \"the checkout could not be started; retry with the same Idempotency-Key\"}"
  }

  depends_on = [aws_api_gateway_integration.start_checkout]
}

# -------------------------------------------------------------------------------- GET /checkouts/{id}

resource "aws_api_gateway_method" "describe_checkout" {
  #checkov:skip=CKV2_AWS_70:With authorization = API_KEY the method requires an API key (api_key_required); with AWS_IAM it is SigV4-authorized.
  rest_api_id          = aws_api_gateway_rest_api.this.id
  resource_id          = aws_api_gateway_resource.checkout.id
  http_method          = "GET"
  authorization        = local.method_authorization
  api_key_required     = local.api_key_required
  request_validator_id = aws_api_gateway_request_validator.parameters.id

  request_parameters = {
    "method.request.path.id" = true
  }
}

# The checkout-status function answers with the DescribeExecution fields of the execution named {id}, plus
# nextAction while it waits for 3-D Secure (the proxy passes its status code and body through).
resource "aws_api_gateway_integration" "describe_checkout" {
  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = aws_api_gateway_resource.checkout.id
  http_method             = aws_api_gateway_method.describe_checkout.http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = var.status_function_invoke_arn
  timeout_milliseconds    = 10000
}

resource "aws_lambda_permission" "checkout_status" {
  statement_id  = "AllowApiGatewayCheckoutStatus"
  action        = "lambda:InvokeFunction"
  function_name = var.status_function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/*/GET/checkouts/*"
}

# --------------------------------------------------------------------------------- POST /webhooks/stripe

resource "aws_api_gateway_method" "stripe_webhook" {
  #checkov:skip=CKV_AWS_59:Stripe cannot send an API key or SigV4; every event is authenticated by its Stripe-Signature (HMAC-SHA256, 300 s tolerance) in the stripe-webhook function before it has any effect.
  #checkov:skip=CKV2_AWS_70:Same as CKV_AWS_59: Stripe-Signature is the authorization of this route.
  rest_api_id          = aws_api_gateway_rest_api.this.id
  resource_id          = aws_api_gateway_resource.stripe_webhook.id
  http_method          = "POST"
  authorization        = "NONE"
  request_validator_id = aws_api_gateway_request_validator.parameters.id

  # An event without a signature never reaches the function.
  request_parameters = {
    "method.request.header.Stripe-Signature" = true
  }
}

resource "aws_api_gateway_integration" "stripe_webhook" {
  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = aws_api_gateway_resource.stripe_webhook.id
  http_method             = aws_api_gateway_method.stripe_webhook.http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = var.webhook_function_invoke_arn
  timeout_milliseconds    = 10000
}

resource "aws_lambda_permission" "stripe_webhook" {
  statement_id  = "AllowApiGatewayStripeWebhook"
  action        = "lambda:InvokeFunction"
  function_name = var.webhook_function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/*/POST/webhooks/stripe"
}

# ---------------------------------------------------------------------------- deployment, stage, logs

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  description = "stepcart ${var.name}"

  # A new deployment whenever a route, integration, template or model changes.
  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_model.checkout_request,
      aws_api_gateway_request_validator.body_and_parameters,
      aws_api_gateway_request_validator.parameters,
      aws_api_gateway_gateway_response.bad_request_body,
      aws_api_gateway_gateway_response.default_4xx,
      aws_api_gateway_gateway_response.default_5xx,
      aws_api_gateway_resource.checkouts,
      aws_api_gateway_resource.checkout,
      aws_api_gateway_resource.webhooks,
      aws_api_gateway_resource.stripe_webhook,
      aws_api_gateway_method.start_checkout,
      aws_api_gateway_integration.start_checkout,
      aws_api_gateway_method_response.start_checkout,
      aws_api_gateway_integration_response.start_checkout_started,
      aws_api_gateway_integration_response.start_checkout_rejected,
      aws_api_gateway_integration_response.start_checkout_failed,
      aws_api_gateway_method.describe_checkout,
      aws_api_gateway_integration.describe_checkout,
      aws_api_gateway_method.stripe_webhook,
      aws_api_gateway_integration.stripe_webhook,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_338:Retention is a validated per-environment input (prod keeps access logs 400 days, dev 14).
  name              = "/aws/apigateway/${var.name}/access"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_api_gateway_stage" "this" {
  #checkov:skip=CKV_AWS_120:Responses must not be cached: POST starts a checkout and GET reads a status that changes every second.
  #checkov:skip=CKV2_AWS_29:Abuse is bounded by API keys with usage-plan throttling and quotas and by request validation; a WAF web ACL (about 6 USD a month plus per-request fees) can be associated per account by Firewall Manager without changing this module.
  #checkov:skip=CKV2_AWS_51:Clients are shops' servers and browsers on the public internet, not mTLS peers; Stripe webhooks cannot present client certificates.
  rest_api_id          = aws_api_gateway_rest_api.this.id
  deployment_id        = aws_api_gateway_deployment.this.id
  stage_name           = var.stage_name
  xray_tracing_enabled = var.xray_tracing_enabled
  tags                 = var.tags

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      extendedRequestId  = "$context.extendedRequestId"
      ip                 = "$context.identity.sourceIp"
      caller             = "$context.identity.caller"
      apiKeyId           = "$context.identity.apiKeyId"
      requestTime        = "$context.requestTime"
      httpMethod         = "$context.httpMethod"
      resourcePath       = "$context.resourcePath"
      status             = "$context.status"
      protocol           = "$context.protocol"
      responseLength     = "$context.responseLength"
      integrationStatus  = "$context.integration.status"
      integrationLatency = "$context.integration.latency"
      responseLatency    = "$context.responseLatency"
      errorMessage       = "$context.error.message"
      xrayTraceId        = "$context.xrayTraceId"
    })
  }

  depends_on = [aws_api_gateway_account.this]
}

resource "aws_api_gateway_method_settings" "all" {
  #checkov:skip=CKV_AWS_225:Responses must not be cached: POST starts a checkout and GET reads a status that changes every second.
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    logging_level          = var.execution_logging_level
    data_trace_enabled     = false
    throttling_rate_limit  = var.throttle_rate_limit
    throttling_burst_limit = var.throttle_burst_limit
    caching_enabled        = false
  }
}

# --------------------------------------------------------------------------- API key and usage plan

resource "aws_api_gateway_usage_plan" "this" {
  count = local.api_key_required ? 1 : 0

  name        = "${var.name}-clients"
  description = "Throttling and quota of the API keys of ${var.name}."
  tags        = var.tags

  api_stages {
    api_id = aws_api_gateway_rest_api.this.id
    stage  = aws_api_gateway_stage.this.stage_name
  }

  throttle_settings {
    rate_limit  = var.throttle_rate_limit
    burst_limit = var.throttle_burst_limit
  }

  dynamic "quota_settings" {
    for_each = var.daily_quota == null ? [] : [var.daily_quota]

    content {
      limit  = quota_settings.value
      period = "DAY"
    }
  }
}

resource "aws_api_gateway_api_key" "default" {
  count = local.api_key_required ? 1 : 0

  name        = "${var.name}-default"
  description = "Default client key of ${var.name}; its value is read with aws apigateway get-api-key --include-value and never output by Terraform."
  enabled     = true
  tags        = var.tags
}

resource "aws_api_gateway_usage_plan_key" "default" {
  count = local.api_key_required ? 1 : 0

  key_id        = aws_api_gateway_api_key.default[0].id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.this[0].id
}

# ------------------------------------------------- account-wide CloudWatch Logs role (once per account and region)

data "aws_iam_policy_document" "cloudwatch_assume_role" {
  statement {
    sid     = "ApiGatewayAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cloudwatch" {
  count = var.manage_account_cloudwatch_role ? 1 : 0

  name                 = "${var.name}-apigateway-cloudwatch"
  description          = "Lets API Gateway write access and execution logs in this account and region."
  assume_role_policy   = data.aws_iam_policy_document.cloudwatch_assume_role.json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy_attachment" "cloudwatch" {
  count = var.manage_account_cloudwatch_role ? 1 : 0

  role       = aws_iam_role.cloudwatch[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  count = var.manage_account_cloudwatch_role ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.cloudwatch[0].arn

  depends_on = [aws_iam_role_policy_attachment.cloudwatch]
}
