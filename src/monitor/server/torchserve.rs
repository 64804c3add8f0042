//! `proxy --protocol torchserve`: image headers are checked for decompression bombs, JSON rows
//! go through the tabular detectors (the baseline gives their length), and probability answers
//! (a list, or TorchServe's `{class: p}`) feed extraction, boundary-walk and harvesting.

use super::*;

pub(super) async fn torchserve(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    UrlPath(params): UrlPath<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let model = params.get("model").cloned().unwrap_or_default();
    let path = match params.get("version") {
        Some(v) => format!("/predictions/{model}/{v}"),
        None => format!("/predictions/{model}"),
    };
    let mut seen = Seen::new(&app, peer, path.clone(), model.clone());
    let response = if app.monitor_on {
        torchserve_handle(&app, &model, &path, &headers, body, &mut seen).await
    } else {
        forward_unmonitored(&app, &path, &headers, body).await
    };
    finish(&app, seen, response, started).await
}

pub(super) async fn torchserve_handle(
    app: &Arc<App>,
    model: &str,
    path: &str,
    headers: &HeaderMap,
    body: Body,
    seen: &mut Seen,
) -> Response {
    let unknown = (!app.name.is_empty() && model != app.name).then(|| {
        format!(
            "no model `{model}` behind this proxy (it fronts `{}`)",
            app.name
        )
    });
    let Admitted {
        bytes, now, _slot, ..
    } = match admit(app, headers, unknown, body, seen).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut rows: Vec<Vec<f32>> = vec![];
    let mut input = ev::BodySummary {
        digest: digest(app, &bytes),
        bytes: bytes.len(),
        content_type: content_type.clone(),
        image: None,
        rows: None,
    };
    if let Ok(kind) = imagesize::image_type(&bytes) {
        let size = match imagesize::blob_size(&bytes) {
            Ok(s) => s,
            Err(e) => {
                return schema_violation(
                    app,
                    seen,
                    format!("an image whose header cannot be read ({e})"),
                );
            }
        };
        let pixels = size.width as u64 * size.height as u64;
        let max = app.cfg.limits.max_image_pixels;
        if pixels == 0 || pixels > max {
            return schema_violation(
                app,
                seen,
                format!(
                    "an image of {}×{} pixels ({pixels}); the limit is {max} (limits.max_image_pixels): a decompression bomb",
                    size.width, size.height
                ),
            );
        }
        input.image = Some(ev::ImageSummary {
            format: format!("{kind:?}"),
            width: size.width,
            height: size.height,
        });
    } else if content_type.starts_with("image/") {
        return schema_violation(
            app,
            seen,
            format!(
                "content type `{content_type}`, but the body is not an image format this monitor reads (PNG, JPEG, GIF, BMP, WebP, TIFF, ICO, …)"
            ),
        );
    } else if content_type.contains("json")
        || bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'{' || b == b'[')
    {
        let v: Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => {
                return schema_violation(app, seen, format!("the body is not JSON: {e}"));
            }
        };
        if let Some(f) = app.features {
            match json_rows(&v, f) {
                Ok(r) => rows = r,
                Err(m) => return schema_violation(app, seen, m),
            }
            if let Some(b) = &app.baseline {
                for (r, row) in rows.iter().enumerate() {
                    if let Some((j, v, lo, hi)) = b.out_of_range(row) {
                        return schema_violation(
                            app,
                            seen,
                            format!(
                                "row {r} feature {j} = {v}, outside the baseline's range [{lo}, {hi}]"
                            ),
                        );
                    }
                }
            }
            input.rows = Some(rows.len());
        }
    }
    seen.input = Some(ev::Input::Body(input));
    seen.rows = app.features.map(|_| rows.len());
    if let Some(r) = charge(app, seen, rows.len(), now).await {
        return r;
    }
    let (upstream, deadline) = match forward(app, path, headers, bytes).await {
        Ok(r) => r,
        Err(f) => return upstream_failed(app, seen, f),
    };
    if !upstream.status().is_success() {
        let origin = Origin {
            app: app.clone(),
            client: ev::ClientRef {
                id: seen.client.clone(),
                ip: seen.ip.clone(),
            },
            request: format!("{:016x}", seen.id),
            model: seen.model.clone(),
        };
        return stream_back(app, upstream, deadline, Some(origin));
    }
    let (parts, answer) = match read_answer(app, seen, upstream, deadline).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let answers = serde_json::from_slice::<Value>(&answer)
        .ok()
        .and_then(|v| score_rows(&v));
    if let Some((labels, margins)) = &answers {
        seen.output = Some(ev::Output::Labels {
            labels: labels.clone(),
            margins: ev::Floats(margins.clone()),
        });
    }
    // Rows and answers pair up only when there are as many of each.
    let rows = match &answers {
        Some((labels, _)) if labels.len() == rows.len() => rows,
        _ if answers.is_some() => vec![],
        _ => rows,
    };
    let pairs = answers.as_ref().filter(|_| !rows.is_empty());
    detect(app, seen, &rows, pairs, answers.is_some(), now);
    if let Some(r) = refused(seen) {
        return r;
    }
    answer_back(&parts, answer)
}

/// Numeric rows of `features` values in a TorchServe JSON body: a row, a list of rows, or
/// either under `data`, `instances`, `inputs` or `input`. No numbers: no rows.
pub(super) fn json_rows(v: &Value, features: usize) -> Result<Vec<Vec<f32>>, String> {
    let v = match v {
        Value::Object(o) => match ["data", "instances", "inputs", "input"]
            .iter()
            .find_map(|k| o.get(*k))
        {
            Some(x) => x,
            None => return Ok(vec![]),
        },
        x => x,
    };
    let Value::Array(items) = v else {
        return Ok(vec![]);
    };
    let row = |a: &[Value]| -> Option<Vec<f32>> {
        a.iter().map(|x| x.as_f64().map(|f| f as f32)).collect()
    };
    let rows: Vec<Vec<f32>> = if items.iter().all(Value::is_number) {
        row(items).into_iter().collect()
    } else if items.iter().all(Value::is_array) {
        items
            .iter()
            .filter_map(|i| i.as_array().and_then(|a| row(a)))
            .collect()
    } else {
        return Ok(vec![]);
    };
    if let Some(r) = rows.iter().find(|r| r.len() != features) {
        return Err(format!(
            "a row of {} values; the baseline's rows have {features}",
            r.len()
        ));
    }
    Ok(rows)
}

/// Labels and margins from a TorchServe answer: probabilities as a list (or a list of lists),
/// or the `{class: probability}` maps of its image classifier (or a list of them). Class names
/// become labels through a hash.
pub(super) fn score_rows(v: &Value) -> Option<(Vec<usize>, Vec<f32>)> {
    fn one(v: &Value) -> Option<(usize, f32)> {
        let (names, p): (Vec<Option<&str>>, Vec<f32>) = match v {
            Value::Array(a) if a.len() >= 2 && a.iter().all(Value::is_number) => a
                .iter()
                .map(|x| (None, x.as_f64().unwrap_or(0.0) as f32))
                .unzip(),
            Value::Object(o) if o.len() >= 2 && o.values().all(Value::is_number) => o
                .iter()
                .map(|(k, x)| (Some(k.as_str()), x.as_f64().unwrap_or(0.0) as f32))
                .unzip(),
            _ => return None,
        };
        let top = p
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)?;
        let label = match names[top] {
            Some(n) => (xxhash_rust::xxh3::xxh3_64(n.as_bytes()) % 1_000_003) as usize,
            None => top,
        };
        Some((label, margin(&p)))
    }
    let rows: Vec<(usize, f32)> = match one(v) {
        Some(r) => vec![r],
        None => v.as_array()?.iter().map(one).collect::<Option<_>>()?,
    };
    if rows.is_empty() {
        return None;
    }
    Some(rows.into_iter().unzip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torchserve_bodies_and_answers_are_read() {
        assert_eq!(
            json_rows(&json!({"data": [[1, 2], [3, 4]]}), 2).unwrap(),
            vec![vec![1.0, 2.0], vec![3.0, 4.0]]
        );
        assert_eq!(json_rows(&json!([1, 2]), 2).unwrap(), vec![vec![1.0, 2.0]]);
        assert!(json_rows(&json!({"text": "hi"}), 2).unwrap().is_empty());
        assert!(
            json_rows(&json!([1, 2, 3]), 2)
                .unwrap_err()
                .contains("3 values")
        );
        let (l, m) = score_rows(&json!([0.1, 0.7, 0.2])).unwrap();
        assert_eq!(l, [1]);
        assert!((m[0] - 0.5).abs() < 1e-6);
        let (l, _) =
            score_rows(&json!([{"cat": 0.9, "dog": 0.1}, {"cat": 0.2, "dog": 0.8}])).unwrap();
        assert_ne!(l[0], l[1]);
        assert!(score_rows(&json!({"text": "hi"})).is_none());
    }
}
