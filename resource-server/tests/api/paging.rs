//! `GET /items/` pages: limit, offset, X-Total-Count and Link rel="next".

use serde_json::Value;

use crate::helpers::*;

fn next_link(response: &reqwest::Response) -> Option<String> {
    let link = response.headers().get("link")?.to_str().unwrap();
    let url = link.strip_prefix('<')?.split_once('>')?.0.to_owned();
    assert!(link.ends_with("rel=\"next\""), "{link}");
    Some(url)
}

shared_core::on_both_backends! {
    async fn a_client_can_walk_every_page_by_following_next_links(backend) {
        let system = spawn_system(backend).await;
        let token = system.user_token("pages@example.com").await;
        let empty = system.get("/items/", &token).await;
        assert_eq!(empty.headers()["x-total-count"], "0");
        assert!(empty.json::<Vec<Value>>().await.unwrap().is_empty());
        for i in 0..5 {
            system.create_item(&token, &format!("item-{i}")).await;
        }
        let mut url = system.url("/items/?limit=2");
        let mut names = Vec::new();
        let mut pages = 0;
        loop {
            let response = system.http.get(&url).bearer_auth(&token).send().await.unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(response.headers()["x-total-count"], "5");
            let next = next_link(&response);
            let page: Vec<Value> = response.json().await.unwrap();
            names.extend(page.iter().map(|i| i["name"].as_str().unwrap().to_owned()));
            pages += 1;
            match next {
                Some(next) => url = next,
                None => break,
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(names, ["item-0", "item-1", "item-2", "item-3", "item-4"]);
    }

    async fn paging_parameters_are_validated_and_capped(backend) {
        let system = spawn_system(backend).await;
        let token = system.user_token("limits@example.com").await;
        system.create_item(&token, "only").await;
        for bad in ["/items/?limit=0", "/items/?limit=abc", "/items/?offset=-1"] {
            assert_eq!(system.get(bad, &token).await.status(), 400, "{bad}");
        }
        let capped = system.get("/items/?limit=5000", &token).await;
        assert_eq!(capped.status(), 200);
        assert!(capped.headers().get("link").is_none());
        // No row carries the total past the end: it is still counted.
        let past_the_end = system.get("/items/?offset=10", &token).await;
        assert_eq!(past_the_end.headers()["x-total-count"], "1");
        assert!(past_the_end.json::<Vec<Value>>().await.unwrap().is_empty());
    }
}
