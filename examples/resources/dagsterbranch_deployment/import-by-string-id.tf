# The id is `repo:branch` or the deployment's generated name.
import {
  to = dagsterbranch_deployment.orders
  id = "acme/data-platform:feature/orders"
}
