use serde_json::Value;

use crate::helpers::*;

shared_core::on_both_backends! {
    async fn every_documented_operation_is_served(backend) {
        let system = spawn_system(backend).await;
        let document: Value = system.http.get(system.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
        let paths = document["paths"].as_object().unwrap();
        assert!(paths.contains_key("/items/{id}/") && paths.contains_key("/users/token/refresh/"));
        for (path, operations) in paths {
            for method in operations.as_object().unwrap().keys() {
                let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let url = system.url(&path.replace("{id}", "1"));
                let status = system.http.request(method.clone(), url).send().await.unwrap().status();
                assert!(status != 404 && status != 405, "{method} {path} is documented but answers {status}");
                let documented: Vec<&String> = operations[method.as_str().to_lowercase()]["responses"].as_object().unwrap().keys().collect();
                assert!(documented.contains(&&status.as_u16().to_string()), "{method} {path}: {status} is not among {documented:?}");
            }
        }
    }
}
