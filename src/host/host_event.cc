// The events and alerts every collector makes, on every platform.

#include "mimamori/core/clock.h"
#include "mimamori/host/collector.h"

namespace mimamori::host {

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
