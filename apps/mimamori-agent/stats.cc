#include "stats.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "mimamori/core/clock.h"
#include "mimamori/core/eve.h"
#include "mimamori/core/fields.h"

namespace mimamori::agent {

void write_stats(const std::filesystem::path& path, double uptime_s,
                 const std::vector<std::unique_ptr<CountingSink>>& collectors,
                 const uplink::Spool* spool, const uplink::Uplink* up) {
  core::Timestamp now = core::now();
  core::Fields f;
  f.add("time", core::format_eve_time(now));
  f.add("written_unix", now.seconds());
  f.add("pid", static_cast<int64_t>(::getpid()));
  f.add("uptime_s", static_cast<int64_t>(uptime_s));
  f.begin_object("collectors");
  uint64_t total = 0;
  for (const auto& c : collectors) {
    if (!c->enabled) continue;
    f.add(c->name(), c->events());
    total += c->events();
  }
  f.end();
  f.add("events", total);
  if (spool) {
    auto s = spool->stats();
    f.begin_object("spool")
        .add("depth", s.depth)
        .add("bytes", s.bytes)
        .add("segments", s.segments)
        .add("dropped", s.dropped)
        .add("cut_bytes", s.cut_bytes)
        .add("committed_through", s.committed_through)
        .add("acked_through", s.acked_through)
        .end();
  }
  if (up) {
    auto u = up->stats();
    f.begin_object("uplink")
        .add("batches_sent", u.batches_sent)
        .add("events_acked", u.events_acked)
        .add("duplicates", u.duplicates)
        .add("rejected", u.rejected)
        .add("failures", u.failures)
        .add("throttled", u.throttled)
        .add("heartbeats", u.heartbeats)
        .add("last_ack", u.last_ack_us ? core::format_eve_time(core::Timestamp{u.last_ack_us})
                                       : std::string("never"))
        .end();
  }
  std::string text = "{";
  core::append_json_members(text, f);  // each member with a leading comma
  if (text.size() > 1 && text[1] == ',') text.erase(1, 1);
  text += "}\n";
  std::string tmp = path.string() + ".tmp";
  if (FILE* out = std::fopen(tmp.c_str(), "w")) {
    bool ok = std::fwrite(text.data(), 1, text.size(), out) == text.size();
    ok = std::fclose(out) == 0 && ok;
    if (ok) std::rename(tmp.c_str(), path.c_str());
  }
}

int print_stats(const std::filesystem::path& state_dir) {
  auto path = stats_path(state_dir);
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr,
                 "mimamori-agent stats: no counters at '%s' (is the agent running with this "
                 "state folder? set it with --config or --set agent.state_dir=DIR)\n",
                 path.c_str());
    return 1;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  core::Fields f;
  if (auto st = core::parse_json_object(ss.str(), f); !st) {
    std::fprintf(stderr, "mimamori-agent stats: '%s' is not readable: %s\n", path.c_str(),
                 st.error().message.c_str());
    return 1;
  }
  auto num = [&](std::string_view key) -> long long {
    auto v = f.find(key);
    return v && v->as_int() ? static_cast<long long>(*v->as_int()) : 0;
  };
  long long age = core::now().seconds() - num("written_unix");
  std::printf("agent pid %lld, up %lld s; counters written %s (%lld s ago)\n", num("pid"),
              num("uptime_s"), std::string(f.find_string("time")).c_str(), age);
  std::printf("events: %lld\n", num("events"));
  const auto& nodes = f.nodes();
  if (auto c = f.find("collectors"); c && c->kind == core::ValueKind::kObject) {
    for (uint32_t i = c->index + 1; i < nodes[c->index].end; ++i) {
      std::string_view name = f.key_of(nodes[i]);
      std::printf("  %-12.*s %lld\n", static_cast<int>(name.size()), name.data(),
                  static_cast<long long>(f.value_at(i).as_int().value_or(0)));
    }
  }
  if (f.find("spool"))
    std::printf(
        "spool: depth %lld, %lld bytes in %lld segments, dropped %lld, acknowledged "
        "through %lld of %lld\n",
        num("spool.depth"), num("spool.bytes"), num("spool.segments"), num("spool.dropped"),
        num("spool.acked_through"), num("spool.committed_through"));
  if (f.find("uplink"))
    std::printf(
        "uplink: %lld events acknowledged in %lld batches, last ack %s; %lld duplicates, "
        "%lld rejected, %lld failures, %lld throttled, %lld heartbeats\n",
        num("uplink.events_acked"), num("uplink.batches_sent"),
        std::string(f.find_string("uplink.last_ack")).c_str(), num("uplink.duplicates"),
        num("uplink.rejected"), num("uplink.failures"), num("uplink.throttled"),
        num("uplink.heartbeats"));
  if (age > 120)
    std::printf("warning: the counters are %lld s old: the agent may not be running\n", age);
  return 0;
}

}  // namespace mimamori::agent
