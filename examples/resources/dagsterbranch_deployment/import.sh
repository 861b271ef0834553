# A branch deployment is imported by its repository and branch, joined by a colon ...
terraform import dagsterbranch_deployment.orders 'acme/data-platform:feature/orders'

# ... or by the name Dagster+ generated for it.
terraform import dagsterbranch_deployment.orders 3f1c9a2b7e4d
