// The device API (docs/device-api.md): enroll, ingest, heartbeat, configuration pull.

#include <charconv>

#include "api/json_body.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/eve.h"
#include "mimamori/core/hash.h"

namespace mimamori::server {
namespace {

std::optional<int64_t> header_int(const HttpRequest& req, std::string_view name) {
  std::string_view v = req.header(name);
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
  return out;
}

}  // namespace

void h_enroll(Call& call) {
  if (!call.api->enroll_limiter().allow(call.req.remote_ip)) {
    (void)call.store->audit(call.principal, "device.enroll", "enrollment_code", "-", {}, {},
                            "{\"reason\":\"rate limited\"}", "denied");
    return call.json(429, "{\"error\":\"too many enrollment attempts; wait a minute\"}",
                     {{"Retry-After", "60"}});
  }
  auto o = read_json_object(call);
  if (!o) return;
  std::string err;
  std::string code = get_string(*o, "code", &err), hostname = get_string(*o, "hostname", &err),
              kind = get_string(*o, "kind", &err), version = get_string(*o, "version", &err);
  if (!err.empty()) return call.error(400, err);
  if (code.empty()) return call.error(400, "member 'code' is missing");
  auto e = call.store->enroll(code, hostname, kind, version, call.req.remote_ip);
  if (!e.ok()) return call.error(e.error());
  json::object r;
  r["device_id"] = e->device_id;
  r["device_token"] = e->device_token;
  r["customer_id"] = e->customer_id;
  r["site_id"] = e->site_id;
  r["heartbeat_interval_s"] = call.store->options().heartbeat_interval_s;
  call.json(201, to_text(r));
}

void h_ingest(Call& call) {
  const auto& req = call.req;
  std::string_view ct = req.header("content-type");
  if (!ct.starts_with("application/x-ndjson")) {
    return call.error(415, fmt::format("Content-Type must be application/x-ndjson, got '{}'", ct));
  }
  auto first = header_int(req, "x-mimamori-seq-first");
  auto last = header_int(req, "x-mimamori-seq-last");
  if (!first || !last) {
    return call.error(400, "headers X-Mimamori-Seq-First and X-Mimamori-Seq-Last must be integers");
  }
  auto body =
      decompress_body(req.header("content-encoding"), req.body, call.api->options().max_body);
  if (!body.ok()) return call.error(body.error());
  IngestBatch batch;
  batch.device_id = call.principal.name;
  batch.customer_id = call.principal.customer_id;
  batch.device_kind = call.principal.device_kind;
  batch.first = *first;
  batch.last = *last;
  batch.body = std::move(*body);
  if (auto st = parse_ingest_batch(batch); !st.ok()) return call.error(st.error());
  const int64_t total = batch.last - batch.first + 1;
  auto keep = std::make_shared<Call>(std::move(call));
  keep->api->ingest().submit(std::move(batch), [keep, total](Result<IngestOutcome> out) {
    if (!out.ok()) {
      if (out.error().code == 429) {
        return keep->json(429, fmt::format("{{\"error\":\"{}\"}}", out.error().message),
                          {{"Retry-After", "1"}});
      }
      return keep->error(out.error());
    }
    if (out->accepted == 0 && out->rejected.empty() && out->duplicates == total) {
      json::object r;
      r["acked_through"] = out->acked_through;
      r["duplicates"] = out->duplicates;
      return keep->json(409, to_text(r));
    }
    json::object r;
    r["acked_through"] = out->acked_through;
    r["accepted"] = out->accepted;
    r["duplicates"] = out->duplicates;
    json::array rej;
    for (const auto& x : out->rejected) {
      json::object e;
      e["seq"] = x.seq;
      e["reason"] = x.reason;
      rej.push_back(std::move(e));
    }
    r["rejected"] = std::move(rej);
    keep->json(200, to_text(r));
  });
}

void h_heartbeat(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  std::string err;
  (void)get_string(*o, "version", &err);
  (void)get_string(*o, "hostname", &err);
  for (auto k : {"uptime_s", "spool_depth", "spool_dropped", "acked_through"}) {
    (void)get_int(*o, k, 0, &err);
  }
  if (!err.empty()) return call.error(400, err);
  auto r = call.store->heartbeat(call.principal, to_text(*o));
  if (!r.ok()) return call.error(r.error());
  json::object out;
  out["server_time"] = core::format_eve_time(core::Timestamp{r->server_time});
  out["config_version"] = r->config_version;
  call.json(200, to_text(out));
}

void h_device_config(Call& call) {
  auto d = call.store->get_device(Principal::system("device-config"), call.principal.name);
  if (!d.ok()) return call.error(d.error());
  // Identity, intervals and the provider's live threat indicators. Addresses and CIDR blocks
  // go to `threat_list`, the list the agent's network collector reads (one entry a line in its
  // threat-list file); domains to `threat_domains`. Values are normalised on the way in (no
  // quotes or spaces), so they are written as plain YAML strings.
  auto threats = call.store->live_threats(core::now().micros);
  if (!threats.ok()) return call.error(threats.error());
  // TLS client fingerprints go to `threat_tls` ("ja3:<hash>", "ja4:<fingerprint>", as the
  // sensor's lists take them) and file hashes to `threat_hashes` (SHA-256 and MD5 hex, the
  // agent's and the sensor's known-bad file lists).
  std::string addresses, domains, tls, hashes;
  for (const auto& t : *threats) {
    if (t.kind == "domain")
      domains += fmt::format("  - \"{}\"\n", t.value);
    else if (t.kind == "ja3" || t.kind == "ja4")
      tls += fmt::format("  - \"{}:{}\"\n", t.kind, t.value);
    else if (t.kind == "sha256" || t.kind == "md5")
      hashes += fmt::format("  - \"{}\"\n", t.value);
    else
      addresses += fmt::format("  - \"{}\"\n", t.value);
  }
  auto list = [](const std::string& items) { return items.empty() ? " []\n" : "\n" + items; };
  std::string yaml = fmt::format(
      "# mimamori device configuration (served by mimamori-server)\n"
      "device_id: {}\ncustomer_id: {}\nsite_id: {}\nheartbeat_interval_s: {}\n"
      "threat_list:{}threat_domains:{}threat_tls:{}threat_hashes:{}",
      d->id, d->customer_id, d->site_id, call.store->options().heartbeat_interval_s,
      list(addresses), list(domains), list(tls), list(hashes));
  std::string etag = fmt::format("\"{}\"", core::sha256_hex(yaml).substr(0, 32));
  if (call.req.header("if-none-match") == etag) {
    HttpResponse r;
    r.status = 304;
    r.content_type = "application/yaml";
    r.headers.emplace_back("ETag", etag);
    call.api->record(call, 304);
    return call.respond(std::move(r));
  }
  HttpResponse r;
  r.content_type = "application/yaml; charset=utf-8";
  r.body = std::move(yaml);
  r.headers.emplace_back("ETag", etag);
  call.api->record(call, 200);
  call.respond(std::move(r));
}

}  // namespace mimamori::server
