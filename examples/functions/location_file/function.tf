# The code locations of a dagster_cloud.yaml as an expression (the same objects as the
# dagsterbranch_location_file data source). Usually `file("${path.module}/dagster_cloud.yaml")`.
locals {
  locations = provider::dagsterbranch::location_file(
    <<-YAML
      locations:
        - location_name: etl
          code_source:
            package_name: etl
          build:
            directory: ./etl
            registry: 123456789012.dkr.ecr.us-east-1.amazonaws.com/dagster/etl
        - location_name: ml
          code_source:
            module_name: ml.definitions
          image: ghcr.io/acme/ml:1
    YAML
    ,
    { etl = provider::dagsterbranch::image_reference("ghcr.io/acme/etl", "4f2a1c9") },
  )
}

output "images" {
  value = { for l in local.locations : l.name => l.image }
}

output "build_registries" {
  value = { for l in local.locations : l.name => l.build_registry if l.build_registry != null }
}
