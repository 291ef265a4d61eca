#pragma once
// The monthly report mail of one month on demand (`mimamori admin report-mail`): what the
// scheduler does on the 1st (src/server/reports), for a month and now.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/server/store.h"

namespace mimamori::server {

/// One customer's monthly report mail of a month, as `mail_reports_of_month` found or made it.
struct ReportMailing {
  std::string customer_id, customer_name;
  bool report_mail = true;  ///< the customer's setting
  bool already = false;     ///< mailed for this month before (report_mailings)
  int64_t contacts = 0;     ///< enabled e-mail channels
  bool queued = false;      ///< messages queued now
};

/// For `month` (YYYY-MM; 400 naming it otherwise) and now: every customer (or only
/// `customer_id`, 404 when unknown) whose report mail is on and not yet mailed for the month
/// gets its report queued to its contacts in the outbox, once (report_mailings, as the
/// scheduler marks it); with `dry_run` nothing is queued or marked and the list says what
/// would be.
Result<std::vector<ReportMailing>> mail_reports_of_month(Store& store, std::string_view month,
                                                         std::string_view customer_id, bool dry_run,
                                                         int64_t now);

}  // namespace mimamori::server
