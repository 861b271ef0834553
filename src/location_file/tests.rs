use std::collections::BTreeMap;

use super::*;

const FILE: &str = r#"
defaults:
  build:
    registry: 123456789012.dkr.ecr.us-east-1.amazonaws.com/branch-app
  container_context:
    k8s:
      namespace: branch
      env_vars: ["A=1"]
locations:
  - location_name: etl
    code_source:
      package_name: etl
    working_directory: ./etl
    build:
      directory: ./etl
    container_context:
      k8s:
        env_vars: ["B=2"]
  - location_name: ml
    code_source:
      python_file: ml/defs.py
    image: ghcr.io/acme/ml:1
    executable_path: /venv/bin/python
    attribute: defs
    agent_queue: gpu
"#;

fn error(text: &str) -> String {
    parse(text).expect_err("must be refused").to_string()
}

#[test]
fn reads_every_key_and_merges_defaults_like_the_cli() {
    let locations = parse(FILE).unwrap();
    assert_eq!(locations.len(), 2);
    let etl = &locations[0];
    assert_eq!(etl.code_source, ("package_name", "etl".to_string()));
    assert_eq!(etl.working_directory.as_deref(), Some("./etl"));
    assert_eq!(etl.build_directory.as_deref(), Some("./etl"));
    assert_eq!(etl.build_registry.as_deref(), Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/branch-app"));
    assert_eq!(
        Value::Object(etl.container_context.clone().unwrap()),
        serde_json::json!({"k8s": {"namespace": "branch", "env_vars": ["A=1", "B=2"]}})
    );
    let ml = &locations[1];
    assert_eq!(ml.code_source, ("python_file", "ml/defs.py".to_string()));
    assert_eq!(
        (ml.image.as_deref(), ml.executable_path.as_deref(), ml.attribute.as_deref(), ml.agent_queue.as_deref()),
        (Some("ghcr.io/acme/ml:1"), Some("/venv/bin/python"), Some("defs"), Some("gpu"))
    );
}

#[test]
fn errors_name_the_location_and_the_key() {
    assert_eq!(
        error("locations:\n  - location_name: a\n    code_source: {module_name: a}\n  - location_name: etl\n    code_source: x\n"),
        r#"locations[1] ("etl"): code_source: expected a mapping, got a string"#
    );
    assert_eq!(
        error("locations:\n  - location_name: etl\n    code_source: {module_name: a}\n    imgae: x\n"),
        r#"locations[0] ("etl"): imgae: unexpected key (allowed: location_name, code_source, build, working_directory, image, executable_path, attribute, container_context, agent_queue)"#
    );
    assert_eq!(
        error("locations:\n  - location_name: etl\n    code_source: {module_name: a, python_file: b.py}\n"),
        r#"locations[0] ("etl"): code_source: set exactly one of package_name, module_name, python_file, autoload_defs_module_name (module_name and python_file are set)"#
    );
    assert!(
        error("locations:\n  - location_name: etl\n").contains(r#"locations[0] ("etl"): code_source: set exactly one"#)
    );
    assert_eq!(
        error(
            "locations:\n  - location_name: etl\n    code_source: {module_name: a}\n    build: {registry: r, dir: x}\n"
        ),
        r#"locations[0] ("etl"): build.dir: unexpected key (allowed: directory, registry)"#
    );
    assert_eq!(
        error("locations:\n  - code_source: {module_name: a}\n"),
        "locations[0]: location_name: missing (required)"
    );
    assert_eq!(
        error("locations:\n  - location_name: etl\n    code_source: {module_name: a}\n    image: Bad:Image\n"),
        r#"locations[0] ("etl"): image: `Bad:Image`: repository path `Bad` must be lowercase"#
    );
    assert_eq!(
        error("locations:\n  - {location_name: a, code_source: {module_name: a}}\n  - {location_name: a, code_source: {module_name: b}}\n"),
        r#"locations[1] ("a"): location_name: the name is also used by locations[0]"#
    );
    assert_eq!(
        error("locations:\n  - location_name: a\n    code_source: {module_name: a}\n    container_context: [1]\n"),
        r#"locations[0] ("a"): container_context: expected a mapping, got a list"#
    );
    assert_eq!(error("defaults: {attribute: x}\nlocations: []\n"), "defaults: attribute: unexpected key (allowed: build, working_directory, image, executable_path, container_context, agent_queue)");
    assert_eq!(error("location: []\n"), "the file: location: unexpected key (allowed: locations, defaults)");
    assert_eq!(error("defaults: {}\n"), "the file: locations: missing (required)");
    assert!(error("locations: [\n").starts_with("the file: not valid YAML"));
    assert!(error("dagster_cloud.yaml").contains("looks like a file name"));
    assert_eq!(error("just text"), "the file: expected a mapping, got a string");
}

#[test]
fn objects_carry_code_location_attributes_and_overrides_apply_by_name_then_star() {
    let mut objects: Vec<LocationObject> = parse(FILE).unwrap().iter().map(LocationObject::from_location).collect();
    assert_eq!(objects[0].package_name.as_deref(), Some("etl"));
    assert!(objects[0].module_name.is_none() && objects[0].image.is_none());
    let context: Value = serde_json::from_str(objects[0].container_context.as_deref().unwrap()).unwrap();
    assert_eq!(context["k8s"]["namespace"], "branch");

    let overrides = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    apply_image_overrides(&mut objects, &overrides(&[("*", "ghcr.io/acme/all:2")])).unwrap();
    assert_eq!(objects[0].image.as_deref(), Some("ghcr.io/acme/all:2"), "`*` fills a location without an image");
    assert_eq!(objects[1].image.as_deref(), Some("ghcr.io/acme/ml:1"), "`*` leaves the file's image");
    apply_image_overrides(&mut objects, &overrides(&[("ml", "ghcr.io/acme/ml:3")])).unwrap();
    assert_eq!(objects[1].image.as_deref(), Some("ghcr.io/acme/ml:3"), "a named override wins");

    let unknown = apply_image_overrides(&mut objects, &overrides(&[("etll", "ghcr.io/acme/x:1")])).unwrap_err();
    assert_eq!(
        unknown.to_string(),
        r#"image_overrides["etll"]: the file has no location "etll" (its locations: etl, ml)"#
    );
    let bad = apply_image_overrides(&mut objects, &overrides(&[("etl", "x y")])).unwrap_err();
    assert_eq!(bad.key(), "etl");
}
