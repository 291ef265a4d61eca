// The dispatch (駆け付け) steps of an incident for the claim package's timeline. Dispatch is a
// domain of its own; until it is wired here the package shows no dispatch steps.

#include "insurance/insurance.h"

namespace mimamori::server {

std::vector<TimelineEntry> dispatch_entries(SqlTx& tx, std::string_view customer_id,
                                            std::string_view incident_id) {
  (void)tx;
  (void)customer_id;
  (void)incident_id;
  return {};
}

}  // namespace mimamori::server
