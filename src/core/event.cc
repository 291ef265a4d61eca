#include "mimamori/core/event.h"

namespace mimamori::core {

void Event::clear() {
  timestamp = {};
  event_type.clear();
  flow_id = 0;
  in_iface.clear();
  src_ip = {};
  dest_ip = {};
  src_port.reset();
  dest_port.reset();
  proto.clear();
  app_proto.clear();
  alert.reset();
  fields.clear();
}

}  // namespace mimamori::core
