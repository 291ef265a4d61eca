// `mimamori admin events dump`: the stored raw events of a customer, a device and a time range
// as EVE JSON lines, read through the store's own reader (Store::dump_events), on either
// backend: whatever form the server keeps them in, they come out as the device sent them.

#include <charconv>
#include <cstdio>

#include "admin_server_config.h"
#include "commands.h"
#include "mimamori/core/clock.h"

namespace mimamori::cli {
namespace {

// An EVE time, or a duration before now: 90m, 12h, 30d.
int64_t time_option(const std::string& text, const char* option) {
  if (text.empty()) return 0;
  const char unit = text.back();
  const int64_t per = unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 0;
  int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
  if (per != 0 && ec == std::errc() && p == text.data() + text.size() - 1 && n > 0) {
    return core::now().micros - n * per * 1000000;
  }
  auto at = core::parse_time(text);
  if (!at.ok()) {
    admin_error("events dump", fmt::format("{} '{}' is neither an EVE time "
                                           "(2026-12-01T00:00:00+09:00) nor a duration before "
                                           "now (90m, 12h, 30d): {}",
                                           option, text, at.error().message));
  }
  return at->micros;
}

}  // namespace

void add_admin_events_commands(CLI::App& admin) {
  struct Args : ServerConfigArgs {
    std::string customer, device, since, until;
    bool keys = false;
  };
  auto a = std::make_shared<Args>();
  auto* events = admin.add_subcommand("events", "stored raw events");
  events->require_subcommand(1);
  auto* dump = events->add_subcommand(
      "dump",
      "print stored raw events as EVE JSON lines (by device, then sequence number), as the "
      "devices sent them");
  add_server_config_options(dump, *a);
  dump->add_option("--customer", a->customer, "only this customer's devices (cus_…)");
  dump->add_option("--device", a->device, "only this device (dev_…)");
  dump->add_option("--since", a->since,
                   "only events at or after this EVE time, or this long before now (12h, 30d)");
  dump->add_option("--until", a->until, "only events before this EVE time (or duration ago)");
  dump->add_flag("--keys", a->keys,
                 "prefix each line with device id, sequence number and event type, tab-separated");
  dump->callback([a] {
    server::EventDumpQuery q;
    q.customer_id = a->customer;
    q.device_id = a->device;
    q.since = time_option(a->since, "--since");
    q.until = time_option(a->until, "--until");
    if (q.since != 0 && q.until != 0 && q.until <= q.since) {
      admin_error("events dump", "--until must be after --since");
    }
    const server::ServerOptions options = load_server_config(*a, "events dump");
    auto store = open_server_store(options, "events dump");
    if (!q.customer_id.empty()) {
      auto c = store->get_customer(server::Principal::system("mimamori admin events dump"),
                                   q.customer_id);
      if (!c.ok()) admin_error("events dump", c.error().message);
    }
    int64_t n = 0;
    auto st = store->dump_events(q, [&](const server::StoredEvent& e) {
      if (a->keys) {
        std::printf("%s\t%lld\t%s\t", e.device_id.c_str(), static_cast<long long>(e.seq),
                    e.event_type.c_str());
      }
      std::fwrite(e.record.data(), 1, e.record.size(), stdout);
      std::fputc('\n', stdout);
      ++n;
    });
    if (!st.ok()) admin_error("events dump", st.error().message);
    std::fflush(stdout);
    std::fprintf(stderr, "%lld events\n", static_cast<long long>(n));
  });
}

}  // namespace mimamori::cli
