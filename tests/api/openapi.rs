//! `GET /openapi.json`: the document lists exactly the routes Rocket mounts, every reference in
//! it resolves, and what the routes answer is what it says they answer.

use std::collections::BTreeSet;

use rocket::http::{ContentType, Header, Status};
use rocket::serde::json::{serde_json, Value};
use rocket::Route;

use crate::helpers::{claims, forge, json_body, TestApp};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
const ERROR_SCHEMA: &str = "#/components/schemas/ErrorBody";

async fn fetch_document(app: &TestApp) -> Value {
    let res = app.client.get("/openapi.json").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(res.content_type(), Some(ContentType::JSON));
    json_body(res).await
}

/// A mounted route's path as OpenAPI writes it: `<x>` and `<x..>` become `{x}`; Rocket's
/// `path()` already leaves the query out.
fn openapi_path(route: &Route) -> String {
    route
        .uri
        .path()
        .split('/')
        .map(
            |seg| match seg.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
                Some(name) => format!("{{{}}}", name.trim_end_matches("..")),
                None => seg.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// The URI a probe requests for `route`: every dynamic segment filled with `probe`.
fn probe_uri(route: &Route) -> String {
    route
        .uri
        .path()
        .split('/')
        .map(|seg| if seg.starts_with('<') { "probe" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every (METHOD, path) the server mounts. Rocket answers HEAD with the GET routes at dispatch
/// time without mounting routes for it, so nothing here is implicit and nothing is left out.
fn mounted(app: &TestApp) -> BTreeSet<(String, String)> {
    app.client
        .rocket()
        .routes()
        .map(|r| (r.method.as_str().to_owned(), openapi_path(r)))
        .collect()
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let paths = doc["paths"].as_object().expect("paths is an object");
    paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS.iter().filter_map(move |m| {
                item.get(*m)
                    .map(|op| (m.to_ascii_uppercase(), path.clone(), op))
            })
        })
        .collect()
}

fn operation<'d>(doc: &'d Value, method: &str, path: &str) -> &'d Value {
    &doc["paths"][path][method.to_ascii_lowercase()]
}

/// Follows a `{"$ref": "#/..."}` to what it names, within the document.
fn resolve<'d>(doc: &'d Value, value: &'d Value) -> &'d Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("unresolved $ref {r}")),
        None => value,
    }
}

fn refers_to_error_schema(doc: &Value, response: &Value) -> bool {
    resolve(doc, response)["content"]["application/json"]["schema"]["$ref"] == ERROR_SCHEMA
}

fn describe(set: &BTreeSet<(String, String)>) -> String {
    if set.is_empty() {
        return " none".into();
    }
    set.iter()
        .map(|(m, p)| format!("\n    {m} {p}"))
        .collect::<String>()
}

#[rocket::async_test]
async fn the_document_lists_exactly_the_routes_rocket_mounts() {
    let app = TestApp::spawn().await;
    let doc = fetch_document(&app).await;

    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3."), "not OpenAPI 3.x: {version:?}");
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let mounted = mounted(&app);
    assert!(mounted.iter().all(|(m, _)| m != "HEAD" && m != "OPTIONS"));
    let missing: BTreeSet<_> = mounted.difference(&documented).cloned().collect();
    let extra: BTreeSet<_> = documented.difference(&mounted).cloned().collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the OpenAPI document and the mounted routes differ \
         (ApiDoc's paths(...) is in src/routes/openapi/document.rs)\
         \n  mounted but not documented:{}\n  documented but not mounted:{}",
        describe(&missing),
        describe(&extra),
    );
}

/// Every `$ref` in `value`, with where it was found.
fn refs<'v>(value: &'v Value, at: String, found: &mut Vec<(String, &'v str)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("$ref", Value::String(r)) => found.push((at.clone(), r)),
                    _ => refs(child, format!("{at}/{key}"), found),
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                refs(child, format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

#[rocket::async_test]
async fn the_document_is_well_formed_and_every_reference_resolves() {
    let app = TestApp::spawn().await;
    let doc = fetch_document(&app).await;

    let text = serde_json::to_string(&doc).expect("serializes");
    let again: Value = serde_json::from_str(&text).expect("parses again");
    assert_eq!(
        again, doc,
        "the document does not survive a JSON round trip"
    );
    let typed: Result<utoipa::openapi::OpenApi, _> = serde_json::from_value(doc.clone());
    assert!(typed.is_ok(), "not an OpenAPI document: {:?}", typed.err());

    let mut found = Vec::new();
    refs(&doc, String::new(), &mut found);
    let unresolved: Vec<String> = found
        .iter()
        .filter(|(_, r)| !r.starts_with("#/components/") || doc.pointer(&r[1..]).is_none())
        .map(|(at, r)| format!("{r} (at {at})"))
        .collect();
    assert!(unresolved.is_empty(), "unresolved $refs: {unresolved:#?}");

    let schemes = &doc["components"]["securitySchemes"];
    let tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .expect("tags are declared")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for (method, path, op) in operations(&doc) {
        for requirement in op["security"].as_array().into_iter().flatten() {
            for name in requirement.as_object().expect("a requirement").keys() {
                assert!(
                    schemes.get(name).is_some(),
                    "{method} {path}: unknown security scheme {name}"
                );
            }
        }
        for tag in op["tags"].as_array().into_iter().flatten() {
            let tag = tag.as_str().unwrap_or_default();
            assert!(tags.contains(tag), "{method} {path}: undeclared tag {tag}");
        }
    }
}

/// Whether `op` requires a token: it names security schemes, and the empty requirement
/// (`security(())`, "or none") is not among them.
fn needs_token(op: &Value) -> bool {
    op["security"]
        .as_array()
        .is_some_and(|alternatives| !alternatives.iter().any(|r| r == &serde_json::json!({})))
}

/// Why `op` breaks the pattern every operation follows, if it does.
fn pattern_problems(doc: &Value, method: &str, path: &str, op: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let summary = op["summary"].as_str().unwrap_or_default();
    if summary.is_empty() || summary.contains('\n') {
        problems.push(format!(
            "{method} {path}: the handler's doc comment must open with a one-line summary, \
             got {summary:?}"
        ));
    }
    if op["tags"].as_array().map(Vec::len) != Some(1) {
        problems.push(format!("{method} {path}: needs one tag, its URL family"));
    }
    let no_responses = serde_json::Map::new();
    let responses = op["responses"].as_object().unwrap_or(&no_responses);
    if !responses.keys().any(|s| s.starts_with('2')) {
        problems.push(format!("{method} {path}: no 2xx response"));
    }
    for (status, response) in responses {
        let error = status == "default" || status.starts_with('4') || status.starts_with('5');
        if error && !refers_to_error_schema(doc, response) {
            problems.push(format!(
                "{method} {path}: the {status} response is not the error envelope"
            ));
        }
    }
    for status in ["401", "503"] {
        let documented = responses
            .get(status)
            .is_some_and(|r| refers_to_error_schema(doc, r));
        if needs_token(op) && !documented {
            problems.push(format!(
                "{method} {path}: needs a token but documents no {status} error envelope"
            ));
        }
    }
    problems
}

#[rocket::async_test]
async fn every_operation_has_a_summary_a_tag_a_success_and_enveloped_errors() {
    let app = TestApp::spawn().await;
    let doc = fetch_document(&app).await;

    let problems: Vec<String> = operations(&doc)
        .into_iter()
        .flat_map(|(method, path, op)| pattern_problems(&doc, &method, &path, op))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
}

/// What a probe saw.
struct Answer {
    status: Status,
    media_type: Option<String>,
    body: String,
}

async fn probe(app: &TestApp, route: &Route, token: Option<&str>, body: Option<&str>) -> Answer {
    let mut req = app.client.req(route.method, probe_uri(route));
    if let Some(token) = token {
        // Every credential a route may ask for: a bearer token, and a second step's cookie
        // (for `/authenticate/mfa`, which checks it before reading its body).
        req = req
            .header(Header::new("Authorization", format!("Bearer {token}")))
            .cookie(rocket::http::Cookie::new("mfa", "probe"));
    }
    if let Some(body) = body {
        req = req.header(ContentType::JSON).body(body);
    }
    let res = req.dispatch().await;
    let status = res.status();
    let media_type = res
        .content_type()
        .map(|c| format!("{}/{}", c.top(), c.sub()));
    let body = res.into_string().await.unwrap_or_default();
    Answer {
        status,
        media_type,
        body,
    }
}

/// Why `answer` does not match what the document says `method path` answers, if it does not.
fn undocumented(doc: &Value, method: &str, path: &str, answer: &Answer) -> Option<String> {
    let code = answer.status.code.to_string();
    let op = operation(doc, method, path);
    if op.is_null() {
        return Some(format!("{method} {path}: not in the document"));
    }
    let Some(response) = op["responses"].get(&code) else {
        return Some(format!(
            "{method} {path}: answered {code}, which it does not document"
        ));
    };
    let content = resolve(doc, response)["content"].as_object();
    match (content, &answer.media_type) {
        (Some(types), Some(seen)) if !types.contains_key(seen) => Some(format!(
            "{method} {path}: answered {code} as {seen}, documented as {:?}",
            types.keys().collect::<Vec<_>>()
        )),
        (Some(_), None) => Some(format!("{method} {path}: answered {code} without a type")),
        (None, _) if !answer.body.is_empty() => Some(format!(
            "{method} {path}: answered {code} with a body it does not document"
        )),
        _ => None,
    }
}

#[rocket::async_test]
async fn anonymous_requests_get_documented_answers_and_guarded_routes_say_so() {
    let app = TestApp::spawn().await;
    let doc = fetch_document(&app).await;

    let mut problems = Vec::new();
    for route in app.client.rocket().routes() {
        let (method, path) = (route.method.as_str(), openapi_path(route));
        let answer = probe(&app, route, None, None).await;
        problems.extend(undocumented(&doc, method, &path, &answer));
        if operation(&doc, method, &path).is_null() {
            continue;
        }
        let refused = answer.status == Status::Unauthorized;
        if refused != needs_token(operation(&doc, method, &path)) {
            problems.push(format!(
                "{method} {path}: {} anonymous requests but {} a token",
                if refused { "refuses" } else { "serves" },
                if refused {
                    "does not require"
                } else {
                    "requires"
                },
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[rocket::async_test]
async fn the_routes_that_read_a_body_and_only_those_document_one() {
    let app = TestApp::spawn().await;
    let doc = fetch_document(&app).await;

    let mut problems = Vec::new();
    for (i, route) in app.client.rocket().routes().enumerate() {
        let (method, path) = (route.method.as_str(), openapi_path(route));
        // An admin of its own, so that one probe's logout or logout-all spares the others.
        let token = forge(&claims(&format!("probe-{i}"), "admin"));
        let answer = probe(&app, route, Some(&token), Some("{")).await;
        problems.extend(undocumented(&doc, method, &path, &answer));
        if operation(&doc, method, &path).is_null() {
            continue;
        }
        let read_body = answer.status == Status::BadRequest
            && serde_json::from_str::<Value>(&answer.body)
                .is_ok_and(|b| b["error"] == "bad_request");
        let documents_body = operation(&doc, method, &path).get("requestBody").is_some();
        if read_body != documents_body {
            problems.push(format!(
                "{method} {path}: {} a body but {} one",
                if read_body { "reads" } else { "does not read" },
                if documents_body {
                    "documents"
                } else {
                    "does not document"
                },
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
