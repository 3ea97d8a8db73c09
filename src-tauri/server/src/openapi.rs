//! The OpenAPI 3.1 document of the admin API, generated from the operation table and
//! the types' JSON Schemas (schemars), so it cannot disagree with the routes.

use postdesk_contract::api::{Operation, OperationVisitor, visit_operations};
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

struct Paths {
    generator: SchemaGenerator,
    paths: Map<String, Value>,
    query_ops: Vec<(String, String, String)>,
}

impl OperationVisitor for Paths {
    fn visit<O: Operation>(&mut self) {
        let params = self.generator.subschema_for::<O>().to_value();
        let output = self.generator.subschema_for::<O::Output>().to_value();
        let error = json!({ "$ref": "#/components/schemas/Error" });
        let mut op = json!({
            "operationId": O::NAME,
            "summary": O::SUMMARY.trim(),
            "security": [{ "bearer": [] }],
            "responses": {
                "200": { "description": "Success", "content": { "application/json": { "schema": output } } },
                "default": { "description": "Error with a stable code", "content": { "application/json": { "schema": error } } }
            }
        });
        let path_params: Vec<Value> = O::PATH
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        op["parameters"] = Value::Array(path_params);
        if O::METHOD.params_in_query() {
            // Filled in once all schemas are known (see `document`).
            self.query_ops.push((
                O::PATH.to_string(),
                O::METHOD.as_str().to_lowercase(),
                O::schema_name().into_owned(),
            ));
        } else {
            op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": params } } });
        }
        let entry = self.paths.entry(O::PATH.to_string()).or_insert_with(|| json!({}));
        entry[O::METHOD.as_str().to_lowercase()] = op;
    }
}

/// The OpenAPI document.
pub fn document() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "#/components/schemas/".into();
    let mut visitor = Paths { generator: settings.into_generator(), paths: Map::new(), query_ops: Vec::new() };
    visit_operations(&mut visitor);
    visitor.generator.subschema_for::<postdesk_contract::Error>();
    let schemas = visitor.generator.take_definitions(true);
    for (path, method, schema_name) in &visitor.query_ops {
        let Some(schema) = schemas.get(schema_name) else { continue };
        let required: Vec<&str> =
            schema["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        let op = &mut visitor.paths[path][method];
        let in_path: Vec<String> = op["parameters"]
            .as_array()
            .map(|a| a.iter().filter_map(|p| p["name"].as_str().map(String::from)).collect())
            .unwrap_or_default();
        if let Some(props) = schema["properties"].as_object() {
            for (name, prop) in props {
                if in_path.contains(name) {
                    continue;
                }
                let param = json!({
                    "name": name, "in": "query", "required": required.contains(&name.as_str()),
                    "description": prop.get("description").cloned().unwrap_or(Value::Null),
                    "schema": prop
                });
                if let Some(list) = op["parameters"].as_array_mut() {
                    list.push(param);
                }
            }
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Postdesk admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Everything the Postdesk UI can do. Authenticate with 'Authorization: Bearer <token>'. \
                Errors are JSON objects with a stable 'code', a 'message' for people and optionally the 'field' at fault."
        },
        "paths": visitor.paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_every_operation_with_schemas() {
        let doc = document();
        let list = &doc["paths"]["/api/domains/{domain}/accounts"]["get"];
        assert_eq!(list["operationId"], "list_accounts");
        let names: Vec<&str> =
            list["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"domain") && names.contains(&"query") && names.contains(&"limit"), "{names:?}");
        let create = &doc["paths"]["/api/accounts"]["post"];
        assert_eq!(
            create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/CreateAccount"
        );
        for name in ["Account", "CreateAccount", "Error", "PlanLimits"] {
            assert!(doc["components"]["schemas"][name].is_object(), "{name} missing");
        }
        let text = doc.to_string();
        assert!(!text.contains("password_hash"), "no hash ever appears in the API");
    }
}
