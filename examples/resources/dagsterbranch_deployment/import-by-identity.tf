# The identity is what names a branch deployment in Dagster+: its repository and branch.
import {
  to = dagsterbranch_deployment.orders
  identity = {
    repo   = "acme/data-platform"
    branch = "feature/orders"
  }
}
