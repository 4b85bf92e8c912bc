//! LLM client overhead and throughput against a fast local fake OpenAI-compatible server
//! (the test server of tests/support, answering at once): one request at a time through our
//! client vs the same request by bare reqwest (the difference is the client's overhead:
//! request building, the adaptive limit, async-openai, response parsing), and requests per
//! second at concurrency 64.

#[path = "../tests/support/fake_llm.rs"]
mod fake_llm;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::StreamExt;
use personadb::llm::{AdaptiveLimit, ChatRequest, LlmClient, LlmConfig, Message};

fn request() -> ChatRequest {
    ChatRequest {
        messages: vec![
            Message::System("You write realistic descriptions of fictional people.".into()),
            Message::User("The person:\n- Name: Ana Maria Silva\n- Sex: female\n- Age: 34\nWrite JSON.".into()),
        ],
        seed: Some(7),
        schema: None,
    }
}

fn client_bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let server = rt.block_on(fake_llm::FakeLlm::healthy(Duration::ZERO));
    let config = LlmConfig {
        base_url: server.base_url.clone(),
        model: "fake".into(),
        max_concurrency: 64,
        ..LlmConfig::default()
    };
    let client = LlmClient::with_limit(config, AdaptiveLimit::new(64)).expect("client");
    let raw = reqwest::Client::new();
    let url = format!("{}/chat/completions", server.base_url);
    let body = serde_json::json!({
        "model": "fake",
        "messages": [
            {"role": "system", "content": "You write realistic descriptions of fictional people."},
            {"role": "user", "content": "The person:\n- Name: Ana Maria Silva\n- Sex: female\n- Age: 34\nWrite JSON."}
        ],
        "seed": 7
    });
    let req = request();

    let mut group = c.benchmark_group("llm_client");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sequential/personadb_client", |b| {
        b.to_async(&rt).iter(|| async { client.chat(&req).await.expect("answer") })
    });
    group.bench_function("sequential/bare_reqwest", |b| {
        b.to_async(&rt).iter(|| async {
            let r = raw.post(&url).json(&body).send().await.expect("send");
            let v: serde_json::Value = r.json().await.expect("json");
            v
        })
    });
    const BURST: u64 = 2_000;
    group.throughput(Throughput::Elements(BURST));
    group.sample_size(10);
    group.bench_function("concurrency_64/2000_requests", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let client = client.clone();
            let req = req.clone();
            async move {
                let start = Instant::now();
                for _ in 0..iters {
                    let n = futures::stream::iter(0..BURST)
                        .map(|_| {
                            let client = client.clone();
                            let req = req.clone();
                            async move { client.chat(&req).await.is_ok() }
                        })
                        .buffer_unordered(64)
                        .filter(|ok| futures::future::ready(*ok))
                        .count()
                        .await;
                    assert_eq!(n as u64, BURST);
                }
                start.elapsed()
            }
        })
    });
    group.finish();
}

criterion_group!(benches, client_bench);
criterion_main!(benches);
