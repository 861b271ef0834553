# The branch deployment of one pull request, with one code location built from the branch's commit.
resource "dagsterbranch_deployment" "orders" {
  repo            = "acme/data-platform"
  branch          = "feature/orders"
  base_deployment = "prod"
  branch_url      = "https://github.com/acme/data-platform/tree/feature/orders"

  commit {
    hash        = "4f9c2e17d3"
    timestamp   = 1718000000 # git log -1 --format=%ct
    message     = "Add the orders pipeline"
    author_name = "Ada Lovelace"
    url         = "https://github.com/acme/data-platform/commit/4f9c2e17d3"
  }

  pull_request {
    number = "128"
    url    = "https://github.com/acme/data-platform/pull/128"
  }

  code_location {
    name              = "orders"
    image             = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/dagster/data-platform:4f9c2e17d3"
    module_name       = "orders.definitions"
    container_context = yamlencode({ k8s = { namespace = "branch-deployments" } })
  }

  # Keep the deployment, marked closed, when the configuration is destroyed.
  on_destroy = "close"
}

output "orders_deployment_url" {
  value = dagsterbranch_deployment.orders.url
}
