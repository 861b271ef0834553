# A registry is imported by its repository name; the IAM user is then the derived one.
terraform import dagsterbranch_registry.images dagster/data-platform

# Name the IAM user after a colon when it was not derived from the repository name.
terraform import dagsterbranch_registry.images 'dagster/data-platform:data-platform-ci'
