// EVE writer and reader throughput on a typical alert record.

#include <benchmark/benchmark.h>

#include "mimamori/core/eve.h"

namespace {

using namespace mimamori::core;

Event sample_alert() {
  Event e;
  e.timestamp = now();
  e.event_type = "alert";
  e.flow_id = 1723467890123456;
  e.src_ip = IpAddress::parse("192.168.10.23").value();
  e.dest_ip = IpAddress::parse("203.0.113.80").value();
  e.src_port = 51544;
  e.dest_port = 80;
  e.proto = "TCP";
  e.app_proto = "http";
  auto& a = e.alert.emplace();
  a.signature_id = 2013028;
  a.rev = 7;
  a.signature = "ET POLICY curl User-Agent Outbound";
  a.category = "Attempted Information Leak";
  a.severity = 2;
  e.fields.begin_object("http")
      .add("hostname", "update.example.jp")
      .add("url", "/download/setup.exe?id=42&lang=ja")
      .add("http_user_agent", "curl/7.88.1")
      .add("http_method", "GET")
      .add("protocol", "HTTP/1.1")
      .add("status", 200)
      .add("length", 48213)
      .end();
  return e;
}

void BM_EveWriteAlert(benchmark::State& state) {
  Event e = sample_alert();
  std::string out;
  for (auto _ : state) {
    out.clear();
    append_eve(e, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_EveWriteAlert);

void BM_EveReadAlert(benchmark::State& state) {
  std::string line = to_eve(sample_alert());
  Event e;
  for (auto _ : state) {
    auto st = parse_eve(line, e);
    benchmark::DoNotOptimize(st);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * line.size()));
}
BENCHMARK(BM_EveReadAlert);

}  // namespace
