#include <unistd.h>

#include "mimamori/core/clock.h"
#include "mimamori/host/collector.h"

namespace mimamori::host {

HostInfo this_host() {
  static const HostInfo info = [] {
    HostInfo h;
    char buf[256] = {0};
    if (::gethostname(buf, sizeof buf - 1) == 0) h.hostname = buf;
    h.root = ::geteuid() == 0;
    return h;
  }();
  return info;
}

core::Event host_event(std::string_view type) {
  core::Event e;
  e.timestamp = core::now();
  e.event_type = type;
  e.fields.add("host", this_host().hostname);
  return e;
}

void make_alert(core::Event& event, uint64_t signature_id, std::string_view signature,
                std::string_view category, int severity) {
  event.event_type = core::event_type::kAlert;
  auto& a = event.alert.emplace();
  a.signature_id = signature_id;
  a.rev = 1;
  a.signature = signature;
  a.category = category;
  a.severity = severity;
}

}  // namespace mimamori::host
